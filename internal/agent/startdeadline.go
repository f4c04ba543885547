package agent

import (
	"errors"
	"fmt"
	"time"
)

// The ways a worker's start can end other than ready (SPEC §5). Every
// start — first start, crash restart, replacement — has the ready deadline
// --ready-timeout. A start that failed ends with a *kindError of one of
// these, so callers tell them apart with errors.Is.
var (
	// errStartFailed: the process could not be started at all (exec
	// failed, no descriptors...).
	errStartFailed = errors.New("could not be started")
	// errExitedBeforeReady: the process exited while still starting.
	errExitedBeforeReady = errors.New("exited before it was ready")
	// errNotReadyInTime: the process was still starting at the deadline;
	// it is killed.
	errNotReadyInTime = errors.New("was not ready in time")
)

func startFailedWith(err error) error {
	return errorf(errStartFailed, "could not be started: %v", err)
}

func exitedBeforeReady(st exitStatus) error {
	return errorf(errExitedBeforeReady, "exited with %v before it was ready", st)
}

func notReadyWithin(d time.Duration) error {
	return errorf(errNotReadyInTime, "was not ready within %v", d)
}

// startFailed says a worker could not be started in a slot. It is queued
// by startWorker and handled by the run loop right after the event that
// tried the start, so a start that keeps failing is paced and counted like
// a crash instead of recursing.
type startFailed struct {
	slot int
	err  error
}

// armReadyDeadline gives a starting worker --ready-timeout to become ready.
func (s *Supervisor) armReadyDeadline(w *worker) {
	if w.state == Starting {
		w.readyTimer = s.sys.clock.AfterFunc(s.readyTimeout, func() { s.post(readyDue{w}) })
	}
}

// disarmReadyDeadline stops w's ready deadline, if any.
func disarmReadyDeadline(w *worker) {
	if w.readyTimer != nil {
		w.readyTimer.Stop()
		w.readyTimer = nil
	}
}

// onStartFailed decides about a failed start as about a crash: the slot
// restarts with the crash pacing of SPEC §6, or the agent stops at the
// exception limit.
func (s *Supervisor) onStartFailed(ev startFailed) {
	if ev.slot >= len(s.table.slots) || s.stopping {
		return // scaled away, or stopping anyway
	}
	sl := s.table.slots[ev.slot]
	if sl.w != nil || sl.next != nil || sl.pending != nil {
		return // filled meanwhile
	}
	s.alarm("", fmt.Sprintf("[alarm] worker %d could not be started", sl.id))
	d := s.policy.exit(workerEnd{cause: causeStartFailed, lastStart: sl.lastStart, restarted: sl.restarted}, s.sys.clock.Now())
	s.emit(WorkerStartFailed{Slot: sl.id, Err: ev.err, Exceptions: d.count, Limit: s.policy.limit(), Restarting: d.restart != "" && !d.limit})
	s.applyDecision(sl, d, fmt.Sprintf("worker %d, %v", sl.id, ev.err))
}

// onReadyTimeout ends a start still not ready at its deadline. A
// replacement is given up (the old worker keeps serving); a first start or
// a restart is killed with its process group, with an alarm; its exit is
// an exception and restarts the slot.
func (s *Supervisor) onReadyTimeout(w *worker) {
	w.readyTimer = nil
	if w.state != Starting || w.cause != causeNone {
		return // ready, or already on its way out
	}
	sl := s.table.slotOf(w)
	if sl == nil {
		return
	}
	err := notReadyWithin(s.readyTimeout)
	if sl.next == w {
		s.rollout.replacementFailed(sl, err)
		return
	}
	s.emit(WorkerKilled{Slot: w.slot, PID: w.p.PID(), Cause: causeNotReady.String(), After: s.readyTimeout})
	s.alarm(pidOf(w), "[alarm] worker not ready in time, force kill worker")
	kill(w, causeNotReady)
}

// process handles ev, then the events that handling queued for the run
// loop itself (a failed start), before the loop takes the next one; then
// tells systemd what changed. It serves Run's loop and the start batches
// (handleQueued) alike.
func (s *Supervisor) process(ev event) {
	s.handle(ev)
	s.handleOwnEvents()
	s.reportReadiness()
}

// handleOwnEvents handles the events the run loop queued for itself, in order.
func (s *Supervisor) handleOwnEvents() {
	for len(s.queued) > 0 {
		ev := s.queued[0]
		s.queued = s.queued[1:]
		s.handle(ev)
	}
}
