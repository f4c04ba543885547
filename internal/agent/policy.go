package agent

import (
	"fmt"
	"time"
)

// minRestartInterval is the shortest time between two starts in one slot
// after the first restart (SPEC §6).
const minRestartInterval = 100 * time.Millisecond

// exceptionWindow counts exceptions (unrequested worker exits) in a fixed
// window that opens at the first exception and lasts span; after it closes
// the count starts again. It is a pure value: the run loop owns it.
type exceptionWindow struct {
	max    int
	span   time.Duration
	opened time.Time
	count  int
}

// record counts an exception at now and reports whether the limit is
// reached. A max of 0 or 1 makes the first exception fatal.
func (e *exceptionWindow) record(now time.Time) (count int, limit bool) {
	if e.count == 0 || now.Sub(e.opened) >= e.span {
		e.opened, e.count = now, 0
	}
	e.count++
	return e.count, e.count >= max(e.max, 1)
}

// workerEnd is what decideExit knows of a worker's end.
type workerEnd struct {
	cause  stopCause
	status exitStatus // zero for causeStartFailed
	// stopping: the agent is stopping; nothing restarts or counts.
	stopping bool
	// pacing of the slot the worker held: its last start, and whether it
	// restarted before (the first restart is immediate).
	lastStart time.Time
	restarted bool
}

// exitDecision is what follows a worker's end.
type exitDecision struct {
	// exception: the end counts against the exception limit; count is the
	// number in the current window, and limit says the agent must stop
	// (ExitExceptionLimit) instead of restarting.
	exception bool
	count     int
	limit     bool
	// restart is the restart reason (monitor.Reason*) when the slot gets a
	// new worker, "" when it stays empty; delay is the restart pacing.
	restart string
	delay   time.Duration
	// alarm is the alarm to raise about the worker (SPEC §12), or "".
	alarm string
	// window is the exception window after this end.
	window exceptionWindow
}

// The alarms decideExit raises, as the Node.js agent words them.
const (
	alarmUnexpectedExit = "[alarm] worker exit unexpected"
)

// decideExit is the restart policy (SPEC §6): given why and how a worker
// ended, the exception window and the time, it says whether the end is an
// exception, whether the agent reached its exception limit, whether and
// when the slot restarts and which alarm to raise. It is pure: the caller
// applies the decision (restartPolicy.exit).
func decideExit(end workerEnd, window exceptionWindow, now time.Time) exitDecision {
	d := exitDecision{window: window}
	if end.cause == causeNone {
		d.alarm = alarmUnexpectedExit
	}
	if end.stopping || !end.cause.isException() {
		return d
	}
	d.exception = true
	d.count, d.limit = d.window.record(now)
	if d.limit {
		d.alarm = fmt.Sprintf("[alarm] exiting,exception occurred more than %d times within %d seconds", d.count-1, int(window.span.Seconds()))
		return d
	}
	d.restart = end.cause.restartReason()
	d.delay = restartDelay(end.lastStart, end.restarted, now)
	return d
}

// restartDelay is how long a slot waits before starting a replacement:
// nothing for the first restart, then at least minRestartInterval after
// the slot's previous start.
func restartDelay(lastStart time.Time, restarted bool, now time.Time) time.Duration {
	if !restarted || lastStart.IsZero() {
		return 0
	}
	return max(lastStart.Add(minRestartInterval).Sub(now), 0)
}

// restartPolicy is the run loop's part that decides what follows a
// worker's end: it owns the exception window. Exceptions and restarts are
// counted from the events that report its decisions (reporting).
type restartPolicy struct {
	window exceptionWindow
}

func newRestartPolicy(max int, span time.Duration) restartPolicy {
	return restartPolicy{window: exceptionWindow{max: max, span: span}}
}

// handover returns the exception window's state for an upgrade in place.
func (p *restartPolicy) handover() windowState {
	return windowState{Opened: p.window.opened, Count: p.window.count}
}

// adopt takes over the exception window a previous program handed over;
// the limit and span stay this program's (its options).
func (p *restartPolicy) adopt(w windowState) {
	p.window.opened, p.window.count = w.Opened, w.Count
}

// exit decides what follows end at now and moves the exception window.
func (p *restartPolicy) exit(end workerEnd, now time.Time) exitDecision {
	d := decideExit(end, p.window, now)
	p.window = d.window
	return d
}

// atLimit reports whether one more exception at now reaches the limit.
func (p *restartPolicy) atLimit(now time.Time) bool {
	w := p.window
	_, limit := w.record(now)
	return limit
}

// limit is the exception limit, as the events report it.
func (p *restartPolicy) limit() int { return max(p.window.max, 1) }
