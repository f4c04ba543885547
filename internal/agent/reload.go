package agent

import (
	"errors"
	"time"

	"github.com/nodeagent/node-agent/internal/monitor"

	"github.com/nodeagent/node-agent/internal/plural"
)

// rollout is the run loop's part that replaces workers in their slots
// for a rolling reload (replace.go holds one slot's replacement).
type rollout struct {
	reload *rollingReload // the reload in progress, or nil
	// reloadAgain asks for another reload when the one in progress ends
	// (--watch saw a newer entry meanwhile).
	reloadAgain bool
	// rebuilding is true while the build of a reload (rebuild) runs.
	rebuilding bool
}

// rollingReload replaces the workers slot by slot (SPEC §11): one at a
// time, the next slot only once the previous replacement is ready.
type rollingReload struct {
	waiter   adminRequest // answered with the outcome (no reply channel: SIGHUP, --watch)
	order    []int        // slot ids, in order
	next     int          // index in order of the next slot to replace
	replaced int
	began    time.Time
}

// progress is the progress of the reload in progress, or nil.
func (r *rollout) progress() *ReloadStatus {
	if r.reload == nil {
		return nil
	}
	return &ReloadStatus{Replaced: r.reload.replaced, Of: len(r.reload.order)}
}

// startReload starts a rolling reload answering req when it is over, or
// answers req why not (an ErrStopping or ErrReloadInProgress error). req is
// the zero adminRequest for SIGHUP and --watch.
func (s *Supervisor) startReload(req adminRequest) {
	switch {
	case s.stopping:
		req.answer("", ErrStopping)
		return
	case s.reload != nil:
		s.log.info("a reload is already in progress")
		req.answer("", errorf(ErrReloadInProgress, "reload in progress"))
		return
	}
	r := &rollingReload{began: s.sys.clock.Now(), waiter: req}
	for _, sl := range s.table.slots {
		r.order = append(r.order, sl.id)
	}
	s.reload = r
	s.emit(ReloadStarted{Of: len(r.order)})
	s.reloadNext()
}

// reloadNext replaces the next slot of the reload, or finishes it.
func (s *Supervisor) reloadNext() {
	r := s.reload
	for r.next < len(r.order) {
		id := r.order[r.next]
		r.next++
		if id < len(s.table.slots) {
			s.replace(s.table.slots[id], monitor.ReasonReload, s.reloadStep(r))
			return
		}
	}
	s.finishReload(nil)
}

// reloadStep is the done of one replacement of reload r.
func (s *Supervisor) reloadStep(r *rollingReload) func(error) {
	return func(err error) {
		if s.reload != r {
			return // aborted
		}
		if err != nil {
			s.finishReload(err)
			return
		}
		r.replaced++
		s.reloadNext()
	}
}

// abortReload ends the reload in progress, if any, as failed.
func (s *Supervisor) abortReload(why string) {
	if s.reload != nil {
		s.finishReload(errors.New(why))
	}
}

// finishReload answers the reload's waiter and tells systemd.
func (s *Supervisor) finishReload(err error) {
	r := s.reload
	s.reload = nil
	done := ReloadDone{Replaced: r.replaced, Of: len(r.order), Took: s.sys.clock.Now().Sub(r.began)}
	var text string
	if err != nil {
		done.Err = errorf(ErrReloadFailed, "reload failed: %v; %d of %s replaced, the others keep serving", err, r.replaced, plural.Count(len(r.order), "worker was", "workers were"))
	} else {
		text = done.String()
	}
	s.emit(done)
	r.waiter.answer(text, done.Err)
	if s.reloadAgain && !s.stopping {
		s.reloadAgain = false
		s.log.info("the entry changed during the reload, reloading again")
		s.startReload(adminRequest{})
	}
}
