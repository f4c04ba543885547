package agent

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/nodeagent/node-agent/monitor"
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
		w.readyTimer = s.clock.AfterFunc(s.readyTimeout, func() { s.post(readyDue{w}) })
	}
}

// disarmReadyDeadline stops w's ready deadline, if any.
func disarmReadyDeadline(w *worker) {
	if w.readyTimer != nil {
		w.readyTimer.Stop()
		w.readyTimer = nil
	}
}

// onStartFailed counts a failed start as an exception: the slot restarts
// with the crash pacing of SPEC §6, or the agent stops at the limit.
func (s *Supervisor) onStartFailed(ev startFailed) {
	if ev.slot >= len(s.slots) || s.stopping {
		return // scaled away, or stopping anyway
	}
	sl := s.slots[ev.slot]
	if sl.w != nil || sl.next != nil || sl.pending != nil {
		return // filled meanwhile
	}
	s.alarm("", fmt.Sprintf("[alarm] worker %d could not be started", sl.id))
	s.exception(sl, ev.err.Error())
}

// onReadyTimeout ends a start still not ready at its deadline. A
// replacement is given up (the old worker keeps serving); a first start or
// a restart is killed with its process group, counted as an exception with
// an alarm, and restarted once it exited.
func (s *Supervisor) onReadyTimeout(w *worker) {
	w.readyTimer = nil
	if w.state != Starting {
		return // ready, or already stopping
	}
	sl := s.slotOf(w)
	if sl == nil {
		return
	}
	err := notReadyWithin(s.readyTimeout)
	if sl.next == w {
		s.replacementFailed(sl, err)
		return
	}
	s.log.error("worker %d (pid %d) %v: killing its process group", w.slot, w.p.PID(), err)
	s.alarm(pidOf(w), "[alarm] worker not ready in time, force kill worker")
	w.startErr = err
	w.p.SignalGroup(syscall.SIGKILL)
	s.exception(sl, err.Error())
}

// restartAfterFailedStart restarts sl once a worker killed at its ready
// deadline exited: the exception was counted at the deadline.
func (s *Supervisor) restartAfterFailedStart(sl *slot, w *worker, st exitStatus) {
	s.log.error("worker %d (pid %d) %v, exited with %v", w.slot, w.p.PID(), w.startErr, st)
	s.restartSlot(sl, monitor.ReasonCrash)
}

// process handles ev, then the events that handling queued for the run
// loop itself (a failed start), before the loop takes the next one.
func (s *Supervisor) process(ev event) {
	s.handle(ev)
	s.handleOwnEvents()
}

// handleOwnEvents handles the events the run loop queued for itself, in order.
func (s *Supervisor) handleOwnEvents() {
	for len(s.queued) > 0 {
		ev := s.queued[0]
		s.queued = s.queued[1:]
		s.handle(ev)
	}
}
