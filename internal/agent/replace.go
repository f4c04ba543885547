package agent

import "fmt"

// replacement is a worker being started to take over a slot (rolling
// reload, memory restart): the slot's next worker.
type replacement struct {
	reason string
	done   func(error) // called once by the run loop; may be nil
}

// replace starts a replacement for sl's worker. Once the replacement is
// ready (a plain binary: once started) it takes the slot and the old
// worker is asked to stop gracefully, so a shared socket always has a
// worker accepting. done, which may be nil, is then called with nil. If the
// replacement exits or is not ready within the ready timeout it is killed,
// the old worker keeps serving and done gets the reason. A replace of a
// slot whose replacement is already starting waits for that one.
func (s *Supervisor) replace(sl *slot, reason string, done func(error)) {
	if r := sl.replacing; r != nil {
		prev := r.done
		r.done = func(err error) {
			if prev != nil {
				prev(err)
			}
			if done != nil {
				done(err)
			}
		}
		return
	}
	if sl.pending != nil { // a restart was due: the replacement fills the slot
		sl.pending.Stop()
		sl.pending = nil
	}
	w, err := s.newWorker(sl)
	if err != nil {
		if sl.w == nil {
			s.refill(sl)
		}
		if done != nil {
			done(fmt.Errorf("worker %d: its replacement %w", sl.id, err))
		}
		return
	}
	sl.next = w
	sl.replacing = &replacement{reason: reason, done: done}
	if w.state == Ready {
		s.promote(sl)
	}
}

// onReady is called when w becomes ready.
func (s *Supervisor) onReady(w *worker) {
	if sl := s.table.slotOf(w); sl != nil && sl.next == w {
		s.promote(sl)
	}
}

// promote puts the slot's ready replacement in place and stops the old worker.
func (s *Supervisor) promote(sl *slot) {
	r, old := sl.replacing, sl.w
	sl.w, sl.next, sl.replacing = sl.next, nil, nil
	s.restarting(sl, r.reason)
	if old != nil {
		s.emit(WorkerReplaced{Slot: sl.id, OldPID: old.p.PID(), PID: sl.w.p.PID(), Reason: r.reason})
		s.table.leave(old)
		s.stop(old, causeReplaced)
	}
	if r.done != nil {
		r.done(nil)
	}
}

// replacementFailed gives up sl's replacement: it is killed if it still
// runs, the old worker keeps serving (or, if it is gone meanwhile, the
// slot restarts as usual) and the replacement's done gets the reason.
func (s *Supervisor) replacementFailed(sl *slot, why error) {
	r, nw := sl.replacing, sl.next
	s.cancelReplacement(sl, causeCancelled)
	err := fmt.Errorf("worker %d: replacement pid %d %w", sl.id, nw.p.PID(), why)
	s.log.error("%v; the current worker keeps serving", err)
	if sl.w == nil {
		s.refill(sl)
	}
	if r.done != nil {
		r.done(err)
	}
}

// cancelReplacement removes sl's replacement without calling its done: a
// replacement still running is SIGKILLed and kept among the old workers
// until it exits.
func (s *Supervisor) cancelReplacement(sl *slot, cause stopCause) {
	nw := sl.next
	disarmReadyDeadline(nw)
	sl.next, sl.replacing = nil, nil
	if nw.state != Stopped {
		nw.state = Stopping
		kill(nw, cause)
		s.table.leave(nw)
	}
}
