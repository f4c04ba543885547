package agent

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nodeagent/node-agent/internal/monitor"
	"github.com/nodeagent/node-agent/internal/plural"
)

// rollout is the run loop's part that puts new workers in place of
// running ones: a slot's replacement (a memory restart, a step of a
// reload), the rolling reload (SPEC §11) and agent.scale. It owns the
// reload in progress and the replacements starting; it changes the worker
// table through the table's and the slots' methods, and asks the rest of
// the run loop for starts, stops and events through rolloutLoop.
type rollout struct {
	loop  rolloutLoop
	table *table
	clock clock
	log   agentLog

	reload *rollingReload // the reload in progress, or nil
	// reloadAgain asks for another reload when the one in progress ends
	// (--watch saw a newer entry, a build finished meanwhile).
	reloadAgain bool
	// rebuilding is true while the build of a reload (rebuild.go) runs.
	rebuilding bool
	// replacing are the replacements starting, by slot: each slot's next
	// worker and why it replaces the current one.
	replacing map[*slot]*replacement
}

// rolloutLoop is what the rollout asks of the run loop (the Supervisor).
type rolloutLoop interface {
	// newWorker starts a worker for sl with its ready deadline armed; the
	// caller puts it in place.
	newWorker(sl *slot) (*worker, error)
	// startWorker starts a worker in the empty slot sl.
	startWorker(sl *slot)
	// stop asks w to stop gracefully for cause.
	stop(w *worker, cause stopCause)
	// refill restarts sl, emptied while its replacement was starting.
	refill(sl *slot)
	// restarting reports that a worker is started in sl to replace
	// another, for reason.
	restarting(sl *slot, reason string)
	// emit reports an event to the subscribers.
	emit(ev Event)
}

func newRollout(loop rolloutLoop, t *table, c clock, log agentLog) *rollout {
	return &rollout{loop: loop, table: t, clock: c, log: log, replacing: map[*slot]*replacement{}}
}

// replacement is a worker being started to take over a slot (rolling
// reload, memory restart): the slot's next worker.
type replacement struct {
	reason string
	done   func(error) // called once by the run loop; may be nil
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

// busy reports whether a reload runs, is being built or is asked for.
func (r *rollout) busy() bool { return r.reload != nil || r.rebuilding || r.reloadAgain }

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
func (r *rollout) startReload(req adminRequest, stopping bool) {
	switch {
	case stopping:
		req.answer("", ErrStopping)
		return
	case r.reload != nil:
		r.log.info("a reload is already in progress")
		req.answer("", errorf(ErrReloadInProgress, "reload in progress"))
		return
	}
	rl := &rollingReload{began: r.clock.Now(), waiter: req}
	for _, sl := range r.table.slots {
		rl.order = append(rl.order, sl.id)
	}
	r.reload = rl
	r.loop.emit(ReloadStarted{Of: len(rl.order)})
	r.reloadNext()
}

// reloadAfter asks for another reload once the one in progress ends, and
// reports whether one is in progress (false: start one now).
func (r *rollout) reloadAfter() bool {
	if r.reload == nil {
		return false
	}
	r.reloadAgain = true
	return true
}

// building marks the build of a reload as running; false when one runs
// already.
func (r *rollout) building() bool {
	if r.rebuilding {
		return false
	}
	r.rebuilding = true
	return true
}

// built marks the build of a reload as over.
func (r *rollout) built() { r.rebuilding = false }

// reloadNext replaces the next slot of the reload, or finishes it.
func (r *rollout) reloadNext() {
	rl := r.reload
	for rl.next < len(rl.order) {
		id := rl.order[rl.next]
		rl.next++
		if sl := r.table.slot(id); sl != nil {
			r.replace(sl, monitor.ReasonReload, r.reloadStep(rl))
			return
		}
	}
	r.finishReload(nil)
}

// reloadStep is the done of one replacement of reload rl.
func (r *rollout) reloadStep(rl *rollingReload) func(error) {
	return func(err error) {
		if r.reload != rl {
			return // aborted
		}
		if err != nil {
			r.finishReload(err)
			return
		}
		rl.replaced++
		r.reloadNext()
	}
}

// abortReload ends the reload in progress, if any, as failed, and drops a
// reload asked for after it: the agent stops.
func (r *rollout) abortReload(why string) {
	r.reloadAgain = false
	if r.reload != nil {
		r.finishReload(errors.New(why))
	}
}

// finishReload reports the reload's end (ReloadDone) and answers its
// waiter; a reload asked for meanwhile starts then.
func (r *rollout) finishReload(err error) {
	rl := r.reload
	r.reload = nil
	done := ReloadDone{Replaced: rl.replaced, Of: len(rl.order), Took: r.clock.Now().Sub(rl.began)}
	var text string
	if err != nil {
		done.Err = errorf(ErrReloadFailed, "reload failed: %v; %d of %s replaced, the others keep serving", err, rl.replaced, plural.Count(len(rl.order), "worker was", "workers were"))
	} else {
		text = done.String()
	}
	r.loop.emit(done)
	rl.waiter.answer(text, done.Err)
	if r.reloadAgain {
		r.reloadAgain = false
		r.log.info("the entry changed during the reload, reloading again")
		r.startReload(adminRequest{}, false)
	}
}

// replace starts a replacement for sl's worker. Once the replacement is
// ready (a plain binary: once started) it takes the slot and the old
// worker is asked to stop gracefully, so a shared socket always has a
// worker accepting. done, which may be nil, is then called with nil. If the
// replacement exits or is not ready within the ready timeout it is killed,
// the old worker keeps serving and done gets the reason. A replace of a
// slot whose replacement is already starting waits for that one.
func (r *rollout) replace(sl *slot, reason string, done func(error)) {
	if rp := r.replacing[sl]; rp != nil {
		prev := rp.done
		rp.done = func(err error) {
			if prev != nil {
				prev(err)
			}
			if done != nil {
				done(err)
			}
		}
		return
	}
	sl.cancelPending() // a restart was due: the replacement fills the slot
	w, err := r.loop.newWorker(sl)
	if err != nil {
		if sl.w == nil {
			r.loop.refill(sl)
		}
		if done != nil {
			done(fmt.Errorf("worker %d: its replacement %w", sl.id, err))
		}
		return
	}
	sl.next = w
	r.replacing[sl] = &replacement{reason: reason, done: done}
	if w.state == Ready {
		r.promote(sl)
	}
}

// onReady is called when w becomes ready: a replacement takes its slot.
func (r *rollout) onReady(w *worker) {
	if sl := r.table.slotOf(w); sl != nil && sl.next == w {
		r.promote(sl)
	}
}

// promote puts the slot's ready replacement in place and stops the old worker.
func (r *rollout) promote(sl *slot) {
	rp := r.replacing[sl]
	delete(r.replacing, sl)
	old := sl.promote()
	r.loop.restarting(sl, rp.reason)
	if old != nil {
		r.loop.emit(WorkerReplaced{Slot: sl.id, OldPID: old.p.PID(), PID: sl.w.p.PID(), Reason: rp.reason})
		r.table.leave(old)
		r.loop.stop(old, causeReplaced)
	}
	if rp.done != nil {
		rp.done(nil)
	}
}

// replacementFailed gives up sl's replacement: it is killed if it still
// runs, the old worker keeps serving (or, if it is gone meanwhile, the
// slot restarts as usual) and the replacement's done gets the reason.
func (r *rollout) replacementFailed(sl *slot, why error) {
	rp, nw := r.replacing[sl], sl.next
	r.cancelReplacement(sl, causeCancelled)
	err := fmt.Errorf("worker %d: replacement pid %d %w", sl.id, nw.p.PID(), why)
	r.log.error("%v; the current worker keeps serving", err)
	if sl.w == nil {
		r.loop.refill(sl)
	}
	if rp.done != nil {
		rp.done(err)
	}
}

// cancelReplacement removes sl's replacement without calling its done: a
// replacement still running is SIGKILLed and kept among the old workers
// until it exits.
func (r *rollout) cancelReplacement(sl *slot, cause stopCause) {
	nw := sl.next
	delete(r.replacing, sl)
	disarmReadyDeadline(nw)
	sl.next = nil
	if nw.state != Stopped {
		nw.state = Stopping
		kill(nw, cause)
		r.table.leave(nw)
	}
}

// maxWorkers bounds agent.scale.
const maxWorkers = 1024

// scale applies agent.scale N: start workers in new slots, or stop the
// highest slots gracefully (Scaled).
func (r *rollout) scale(data string, stopping bool) (string, error) {
	n, err := strconv.Atoi(strings.TrimSpace(data))
	if err != nil || n < 1 || n > maxWorkers {
		return "", errorf(ErrBadArgument, "agent.scale wants a worker count from 1 to %d, got %q", maxWorkers, data)
	}
	if stopping {
		return "", ErrStopping
	}
	if r.reload != nil {
		return "", errorf(ErrReloadInProgress, "a reload is in progress, scale after it")
	}
	from := len(r.table.slots)
	switch {
	case n > from:
		for _, sl := range r.table.grow(n) {
			r.loop.startWorker(sl)
		}
	case n < from:
		for _, sl := range r.table.shrink(n) {
			r.retire(sl, causeScaleDown)
		}
	}
	r.loop.emit(Scaled{From: from, To: n})
	return fmt.Sprintf("ok: %s (was %d)", plural.Workers(n), from), nil
}

// retire empties sl, which left the table: a pending restart is
// cancelled, a replacement being started is killed, the worker is asked to
// stop and kept among the old ones until it exits.
func (r *rollout) retire(sl *slot, cause stopCause) {
	sl.cancelPending()
	if sl.next != nil {
		r.cancelReplacement(sl, cause)
	}
	if w := sl.w; w != nil {
		sl.w = nil
		r.table.leave(w)
		r.loop.stop(w, cause)
	}
}
