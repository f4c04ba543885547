package agent

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/nodeagent/node-agent/internal/plural"
)

// Event is a notable moment in the agent's life, as a typed value: a
// worker started, became ready or exited, an alarm, a reload done, the
// exception limit. The run loop delivers every event, in order, to each
// subscriber (Subscribe): the agent log writes String at Level, the TARS
// alarms report the Alarm events, and a test or an embedding program may
// assert on the values instead of reading log lines.
type Event interface {
	// String is the event's line in the agent log.
	String() string
	// Level is the level of that line.
	Level() slog.Level
}

// Subscribe adds f to the subscribers of the agent's events. Call it
// before Run. f is called from the run loop, in order, and must not
// block: a subscriber that needs time hands the event to its own
// goroutine.
func (s *Supervisor) Subscribe(f func(Event)) { s.hook.subscribe(f) }

// emit delivers ev to every subscriber. Run loop only.
func (s *Supervisor) emit(ev Event) { s.hook.emit(ev) }

// hook is the run loop's part that delivers the events: its subscribers,
// in the order they subscribed.
type hook struct {
	subscribers []func(Event)
}

func (h *hook) subscribe(f func(Event)) { h.subscribers = append(h.subscribers, f) }

// emit calls every subscriber with ev, in order.
func (h *hook) emit(ev Event) {
	for _, f := range h.subscribers {
		f(ev)
	}
}

// ExitStatus describes how a worker process ended: its exit code, or the
// signal that killed it.
type ExitStatus = exitStatus

// WorkerStarted: a worker process was started in a slot.
type WorkerStarted struct {
	Slot, PID int
}

func (e WorkerStarted) String() string {
	return fmt.Sprintf("worker %d started, pid %d", e.Slot, e.PID)
}
func (WorkerStarted) Level() slog.Level { return slog.LevelInfo }

// WorkerReady: a starting worker said it is ready (a plain binary is
// ready when started, and has no such event).
type WorkerReady struct {
	Slot, PID int
	After     time.Duration // since its start
}

func (e WorkerReady) String() string {
	return fmt.Sprintf("worker %d (pid %d) ready after %v", e.Slot, e.PID, e.After.Round(time.Millisecond))
}
func (WorkerReady) Level() slog.Level { return slog.LevelInfo }

// WorkerExited: a worker process ended, and what the restart policy
// decided about it (SPEC §6).
type WorkerExited struct {
	Slot, PID int
	Status    ExitStatus
	// Cause says why it stopped: "crash" when the agent did not ask, else
	// why the agent stopped it ("shutdown", "reload", "memory",
	// "keepalive", "not ready in time", "scale down", ...).
	Cause string
	// Starting: it had not said it was ready yet.
	Starting bool
	// Exception: the exit counts against the exception limit; Exceptions
	// is then the count in the current window, out of Limit.
	Exception  bool
	Exceptions int
	Limit      int
	// Restarting: its slot gets a new worker (now, or after the restart
	// pacing).
	Restarting bool
}

func (e WorkerExited) String() string {
	switch e.Cause {
	case causeNone.String():
		when := ""
		if e.Starting {
			when = " while starting"
		}
		return fmt.Sprintf("worker %d (pid %d) exited unexpectedly with %v%s", e.Slot, e.PID, e.Status, when)
	case causeKeepalive.String():
		return fmt.Sprintf("worker %d (pid %d) killed for missing heartbeats, exited with %v", e.Slot, e.PID, e.Status)
	case causeNotReady.String():
		return fmt.Sprintf("worker %d (pid %d) killed for not being ready in time, exited with %v", e.Slot, e.PID, e.Status)
	}
	then := ""
	if e.Restarting {
		then = ", starting its replacement"
	}
	return fmt.Sprintf("worker %d (pid %d) stopped (%s) with %v%s", e.Slot, e.PID, e.Cause, e.Status, then)
}

// Level is ERROR for the exits that are failures of the worker, INFO for
// the stops the agent asked for.
func (e WorkerExited) Level() slog.Level {
	switch e.Cause {
	case causeNone.String(), causeKeepalive.String(), causeNotReady.String():
		return slog.LevelError
	}
	return slog.LevelInfo
}

// WorkerReplaced: a ready replacement took its slot from a worker, which
// is asked to stop (rolling reload, memory restart).
type WorkerReplaced struct {
	Slot, OldPID, PID int
	Reason            string // monitor.Reason*: "reload", "memory"
}

func (e WorkerReplaced) String() string {
	return fmt.Sprintf("worker %d (pid %d) replaced by pid %d (%s)", e.Slot, e.OldPID, e.PID, e.Reason)
}
func (WorkerReplaced) Level() slog.Level { return slog.LevelInfo }

// ExceptionLimit: an exception reached --exception-max within
// --exception-time; the agent stops with ExitExceptionLimit.
type ExceptionLimit struct {
	Count  int
	Within time.Duration
	// Last names the exception that reached the limit.
	Last string
}

func (e ExceptionLimit) String() string {
	return fmt.Sprintf("exception occurred %d times within %v (last: %s), exiting", e.Count, e.Within, e.Last)
}
func (ExceptionLimit) Level() slog.Level { return slog.LevelError }

// Alarm: an alarm for the TARS platform (SPEC §12), in the Node.js agent's
// words. ThreadID is the pid of the worker concerned, "" for the agent as
// a whole. It is not written to the agent log: the event that caused it
// is.
type Alarm struct {
	ThreadID, Message string
}

func (e Alarm) String() string {
	if e.ThreadID == "" {
		return "alarm: " + e.Message
	}
	return "alarm for pid " + e.ThreadID + ": " + e.Message
}
func (Alarm) Level() slog.Level { return slog.LevelWarn }

// ReloadDone: a rolling reload (SPEC §11) ended: every worker replaced, or
// Err says why not (the others keep serving).
type ReloadDone struct {
	Replaced, Of int
	Took         time.Duration
	Err          error
}

func (e ReloadDone) String() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return fmt.Sprintf("ok: reloaded %s in %v", plural.Workers(e.Replaced), e.Took.Round(time.Millisecond))
}

func (e ReloadDone) Level() slog.Level {
	if e.Err != nil {
		return slog.LevelError
	}
	return slog.LevelInfo
}

// SlotRestarted: a worker is started in a slot to replace another, now or
// after the restart pacing, for Reason (monitor.Reason*: "crash",
// "keepalive", "memory", "reload"). The restart counters of agent.status,
// /metrics and systemd's STATUS= count these events.
type SlotRestarted struct {
	Slot   int
	Reason string
}

func (e SlotRestarted) String() string {
	return fmt.Sprintf("worker %d restarts (%s)", e.Slot, e.Reason)
}

// Level is DEBUG: the exit or replacement that caused it has its own line.
func (SlotRestarted) Level() slog.Level { return slog.LevelDebug }

// WorkerStartFailed: a worker could not be started in an empty slot (the
// process did not start at all: Err), and what the restart policy
// decided, as for WorkerExited: it is an exception (Exceptions in the
// current window, out of Limit), and whether the slot tries again.
type WorkerStartFailed struct {
	Slot       int
	Err        error
	Exceptions int
	Limit      int
	Restarting bool
}

// String does not repeat Err: the start's own line said it.
func (e WorkerStartFailed) String() string {
	then := ""
	if e.Restarting {
		then = ", trying again"
	}
	return fmt.Sprintf("worker %d: the failed start is exception %d of %d%s", e.Slot, e.Exceptions, e.Limit, then)
}
func (WorkerStartFailed) Level() slog.Level { return slog.LevelWarn }

// Scaled: agent.scale changed the number of slots From → To. The workers of
// the slots removed are asked to stop; their restarts stay in the agent's
// totals.
type Scaled struct {
	From, To int
}

func (e Scaled) String() string {
	return fmt.Sprintf("scaled from %d to %s", e.From, plural.Workers(e.To))
}
func (Scaled) Level() slog.Level { return slog.LevelInfo }

// ReloadStarted: a rolling reload (SPEC §11) begins; Of slots are to be
// replaced one by one. ReloadDone follows.
type ReloadStarted struct {
	Of int
}

func (e ReloadStarted) String() string {
	return fmt.Sprintf("reloading %s one by one", plural.Workers(e.Of))
}
func (ReloadStarted) Level() slog.Level { return slog.LevelInfo }

// WorkerKilled: the agent SIGKILLs a worker's process group without
// waiting any longer: it was still starting at its ready deadline (Cause
// "not ready in time"; the WorkerExited that follows is an exception), or
// still running after the graceful timeout it was given to stop (Cause
// "graceful timeout"). After is the deadline that passed.
type WorkerKilled struct {
	Slot, PID int
	Cause     string
	After     time.Duration
}

// killGraceful is WorkerKilled.Cause for a stop past the graceful timeout.
const killGraceful = "graceful timeout"

func (e WorkerKilled) String() string {
	if e.Cause == killGraceful {
		return fmt.Sprintf("worker %d (pid %d) exceeded the graceful timeout of %v, killing its process group", e.Slot, e.PID, e.After)
	}
	return fmt.Sprintf("worker %d (pid %d) was not ready within %v: killing its process group", e.Slot, e.PID, e.After)
}

// Level is ERROR for a start that failed, WARN for a slow stop.
func (e WorkerKilled) Level() slog.Level {
	if e.Cause == killGraceful {
		return slog.LevelWarn
	}
	return slog.LevelError
}

// ShutdownBegan: the agent begins its shutdown, for Why (a signal, a shutdown
// request, the exception limit); Run returns Code once every worker is
// gone.
type ShutdownBegan struct {
	Why  string
	Code int
}

func (e ShutdownBegan) String() string  { return e.Why + ", stopping all workers" }
func (ShutdownBegan) Level() slog.Level { return slog.LevelInfo }
