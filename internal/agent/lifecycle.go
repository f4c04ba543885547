package agent

import (
	"fmt"
	"strconv"
	"syscall"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
	"github.com/nodeagent/node-agent/internal/monitor"
)

// shutdown stops every worker gracefully, for why (ShutdownBegan); Run returns
// code when they are gone.
func (s *Supervisor) shutdown(code int, why string) {
	if s.stopping {
		return
	}
	s.stopping = true
	s.exitCode = code
	s.emit(ShutdownBegan{Why: why, Code: code})
	s.sdNotify("STOPPING=1")
	s.rollout.abortReload("the agent is stopping")
	for _, sl := range s.table.slots {
		sl.cancelPending()
	}
	s.table.each(func(w *worker) { s.stop(w, causeShutdown) })
}

// stop asks w to stop for cause and arms the SIGKILL escalation. The first
// cause written stays: a worker replaced for its memory stops as a memory
// restart, a zombie stopped by a shutdown still died for its heartbeats.
// Stopping a stopping worker does nothing more.
func (s *Supervisor) stop(w *worker, cause stopCause) {
	setCause(w, cause)
	if w.state == Stopping {
		return
	}
	w.state = Stopping
	if s.cfg.GracefulShutdown <= 0 || s.forced {
		w.p.SignalGroup(syscall.SIGKILL)
		return
	}
	if w.linked {
		if err := w.p.Send(wire.KindStop, nil); err != nil {
			w.p.SignalGroup(syscall.SIGTERM)
		}
	} else {
		w.p.SignalGroup(syscall.SIGTERM)
	}
	w.killTimer = s.sys.clock.AfterFunc(s.cfg.GracefulShutdown, func() { s.post(killDue{w}) })
}

// kill SIGKILLs w's process group for cause, without asking first (a
// zombie, a start past its deadline, a replacement given up).
func kill(w *worker, cause stopCause) {
	setCause(w, cause)
	w.p.SignalGroup(syscall.SIGKILL)
}

// setCause writes why w must go, unless that was decided already.
func setCause(w *worker, cause stopCause) {
	if w.cause == causeNone {
		w.cause = cause
	}
}

// startWorker starts the worker of an empty slot. A start that fails is
// queued as a startFailed event, handled once the current event is done.
func (s *Supervisor) startWorker(sl *slot) {
	w, err := s.newWorker(sl)
	s.placeWorker(sl, w, err)
}

// placeWorker puts w, a worker started for the empty slot sl, in it. A
// start that failed (err) is queued as a startFailed event, handled once
// the current event is done.
func (s *Supervisor) placeWorker(sl *slot, w *worker, err error) {
	if err != nil {
		s.queued = append(s.queued, startFailed{slot: sl.id, err: err})
		return
	}
	sl.w = w
}

// newWorker starts a process for sl and returns it with its ready deadline
// armed, or an error wrapping errStartFailed (logged). The caller puts it
// in the slot.
func (s *Supervisor) newWorker(sl *slot) (*worker, error) {
	p, err := s.sys.start(s.workerSpec(sl), s.post)
	return s.startedWorker(sl, p, err)
}

// workerSpec is the process to start for sl, now.
func (s *Supervisor) workerSpec(sl *slot) procSpec {
	sl.lastStart = s.sys.clock.Now()
	return procSpec{
		Slot:  sl.id,
		Path:  s.cfg.Entry.Path,
		Args:  s.cfg.WorkerArgs,
		Dir:   s.cfg.WorkerDir(),
		Env:   workerEnv(s.env, sl.id, s.level),
		RunAs: s.cfg.RunAs,
	}
}

// startedWorker is the worker of the process started (p, err) for sl's
// workerSpec, with its ready deadline armed, or an error wrapping
// errStartFailed when it could not be started (logged).
func (s *Supervisor) startedWorker(sl *slot, p proc, err error) (*worker, error) {
	if err != nil {
		err = startFailedWith(err)
		s.log.error("worker %d %v", sl.id, err)
		return nil, err
	}
	now := sl.lastStart
	w := &worker{slot: sl.id, p: p, state: Starting, started: now, lastBeat: now}
	if !s.linked {
		w.state = Ready // a plain binary is ready when started (SPEC §5)
	}
	s.armReadyDeadline(w)
	s.emit(WorkerStarted{Slot: sl.id, PID: p.PID()})
	return w, nil
}

// onExit handles the end of a worker process: its replacement's failure
// goes to the rollout; any other end is decided by the restart policy
// (decideExit), which counts exceptions and says whether the slot
// restarts.
func (s *Supervisor) onExit(ev procExited) {
	w := s.table.find(ev.p)
	if w == nil {
		return
	}
	if w.killTimer != nil {
		w.killTimer.Stop()
	}
	disarmReadyDeadline(w)
	// Whatever the worker left in its process group goes with it.
	w.p.SignalGroup(syscall.SIGKILL)
	starting := w.state == Starting
	w.state = Stopped
	s.gathers.workerGone(w.p.PID(), ev.status)
	sl := s.table.slotOf(w)
	if sl != nil && sl.next == w {
		s.rollout.replacementFailed(sl, exitedBeforeReady(ev.status))
		return
	}
	if sl == nil {
		s.table.gone(w)
	} else {
		sl.w = nil
	}
	end := workerEnd{cause: w.cause, status: ev.status, stopping: s.stopping}
	if sl != nil {
		end.lastStart, end.restarted = sl.lastStart, sl.restarted
	}
	d := s.policy.exit(end, s.sys.clock.Now())
	restarting := sl != nil && d.restart != "" && !d.limit && sl.next == nil && sl.pending == nil
	s.emit(WorkerExited{Slot: w.slot, PID: w.p.PID(), Status: ev.status, Cause: w.cause.String(), Starting: starting,
		Exception: d.exception, Exceptions: d.count, Limit: s.policy.limit(), Restarting: restarting})
	if d.alarm != "" && !d.limit {
		s.alarm(pidOf(w), d.alarm)
	}
	s.applyDecision(sl, d, fmt.Sprintf("worker %d, %s", w.slot, exitWhat(w.cause, ev.status)))
	if w.cause == causeNone {
		s.reportStartFailure(w, ev.status)
	}
}

// exitWhat names an exception for the exception-limit line.
func exitWhat(c stopCause, st exitStatus) string {
	if c == causeNone {
		return st.String()
	}
	return c.String() + ", " + st.String()
}

// applyDecision acts on the restart policy's decision about sl (nil for a
// worker that held no slot): stop the agent at the exception limit, or
// restart the slot, counting the restart. what names the exception.
func (s *Supervisor) applyDecision(sl *slot, d exitDecision, what string) {
	if d.limit {
		s.emit(ExceptionLimit{Count: d.count, Within: s.cfg.ExceptionTime, Last: what})
		s.alarm("", d.alarm)
		s.shutdown(ExitExceptionLimit, "the exception limit is reached")
		return
	}
	if sl == nil || d.restart == "" || s.stopping || sl.w != nil || sl.next != nil || sl.pending != nil {
		return // nothing to restart, or the slot is (being) filled
	}
	s.restarting(sl, d.restart)
	s.startAfter(sl, d.delay)
}

// onRestartDue starts the paced restart of slot id, unless it was scaled
// away, filled meanwhile or the agent stops.
func (s *Supervisor) onRestartDue(id int) {
	sl := s.table.slot(id)
	if sl == nil {
		return // scaled away
	}
	sl.pending = nil
	if !s.stopping && sl.w == nil && sl.next == nil {
		s.startWorker(sl)
	}
}

// onKillDue SIGKILLs w's process group when it is still stopping at the
// end of its graceful time (WorkerKilled, with an alarm).
func (s *Supervisor) onKillDue(w *worker) {
	if w.state != Stopping {
		return
	}
	s.emit(WorkerKilled{Slot: w.slot, PID: w.p.PID(), Cause: killGraceful, After: s.cfg.GracefulShutdown})
	s.alarm(pidOf(w), "[alarm] exceeded the graceful timeout, force kill worker")
	w.p.SignalGroup(syscall.SIGKILL)
}

// startAfter starts a worker in the empty slot sl after delay.
func (s *Supervisor) startAfter(sl *slot, delay time.Duration) {
	if delay <= 0 {
		s.startWorker(sl)
		return
	}
	sl.pending = s.sys.clock.AfterFunc(delay, func() { s.post(restartDue{slot: sl.id}) })
}

// refill starts a worker in sl, emptied while a replacement was starting
// that then failed: a crash restart, paced.
func (s *Supervisor) refill(sl *slot) {
	if s.stopping || sl.w != nil || sl.next != nil || sl.pending != nil {
		return
	}
	delay := restartDelay(sl.lastStart, sl.restarted, s.sys.clock.Now())
	s.restarting(sl, monitor.ReasonCrash)
	s.startAfter(sl, delay)
}

func pidOf(w *worker) string { return strconv.Itoa(w.p.PID()) }

// restarting marks sl restarted, so its next start is paced, and reports
// the restart (SlotRestarted, which the counters count) for reason.
func (s *Supervisor) restarting(sl *slot, reason string) {
	sl.restarted = true
	s.emit(SlotRestarted{Slot: sl.id, Reason: reason})
}
