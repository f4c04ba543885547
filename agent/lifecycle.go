package agent

import (
	"strconv"
	"syscall"

	"github.com/nodeagent/node-agent/container/wire"
	"github.com/nodeagent/node-agent/monitor"
)

// shutdown stops every worker gracefully; Run returns when they are gone.
func (s *Supervisor) shutdown(code int) {
	if s.stopping {
		return
	}
	s.stopping = true
	s.exitCode = code
	s.sdNotify("STOPPING=1")
	s.abortReload("the agent is stopping")
	for _, sl := range s.slots {
		if sl.pending != nil {
			sl.pending.Stop()
			sl.pending = nil
		}
	}
	s.each(func(w *worker) { s.stopWorker(w, "shutdown") })
}

// stopWorker asks w to stop and arms the SIGKILL escalation.
func (s *Supervisor) stopWorker(w *worker, reason string) {
	if w.state == Stopping {
		return
	}
	w.state, w.requested, w.reason = Stopping, true, reason
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
	w.killTimer = s.clock.AfterFunc(s.cfg.GracefulShutdown, func() { s.post(killDue{w}) })
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
	p, err := s.start(s.workerSpec(sl), s.post)
	return s.startedWorker(sl, p, err)
}

// workerSpec is the process to start for sl, now.
func (s *Supervisor) workerSpec(sl *slot) procSpec {
	sl.lastStart = s.clock.Now()
	return procSpec{
		Slot:  sl.id,
		Path:  s.cfg.Entry.Path,
		Args:  s.cfg.WorkerArgs,
		Dir:   s.cfg.Entry.Dir,
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
	s.log.info("worker %d started, pid %d", sl.id, p.PID())
	return w, nil
}

// slotOf returns the slot w belongs to, or nil when w left its slot (an
// old worker, or its slot was scaled away).
func (s *Supervisor) slotOf(w *worker) *slot {
	if w.slot >= len(s.slots) {
		return nil
	}
	sl := s.slots[w.slot]
	if sl.w != w && sl.next != w {
		return nil
	}
	return sl
}

func (s *Supervisor) onExit(ev procExited) {
	w := s.find(ev.p)
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
	s.workerGone(w, ev.status)
	sl := s.slotOf(w)
	if sl == nil {
		delete(s.old, ev.p)
		s.log.info("worker %d (pid %d) stopped (%s) with %v", w.slot, w.p.PID(), w.reason, ev.status)
		return
	}
	if sl.next == w {
		s.replacementFailed(sl, exitedBeforeReady(ev.status))
		return
	}
	sl.w = nil
	switch {
	case w.startErr != nil:
		s.restartAfterFailedStart(sl, w, ev.status)
	case w.zombie:
		s.log.error("worker %d (pid %d) killed for missing heartbeats, exited with %v", w.slot, w.p.PID(), ev.status)
		s.restartSlot(sl, monitor.ReasonKeepalive)
	case w.requested && w.restart:
		s.log.info("worker %d (pid %d) stopped (%s) with %v, starting its replacement", w.slot, w.p.PID(), w.reason, ev.status)
		s.restartSlot(sl, w.reason)
	case w.requested:
		s.log.info("worker %d (pid %d) stopped (%s) with %v", w.slot, w.p.PID(), w.reason, ev.status)
	default:
		when := ""
		if starting {
			when = " while starting"
		}
		s.log.error("worker %d (pid %d) exited unexpectedly with %v%s", w.slot, w.p.PID(), ev.status, when)
		s.alarm(pidOf(w), "[alarm] worker exit unexpected")
		if !s.stopping {
			s.exception(sl, ev.status.String())
		}
		s.reportStartFailure(w, ev.status)
	}
}

// restartSlot starts a new worker in sl after a kill the agent decided on
// (zombie, memory): the exception was counted when the kill was decided.
func (s *Supervisor) restartSlot(sl *slot, reason string) {
	if s.stopping || sl.next != nil {
		return // the replacement in progress takes the slot
	}
	s.countRestart(sl, reason)
	s.scheduleStart(sl)
}

// exception counts an unrequested exit in sl and restarts it, or stops the
// agent when the limit is reached. It reports whether the agent goes on.
func (s *Supervisor) exception(sl *slot, what string) bool {
	s.exceptions++
	n, limit := s.window.record(s.clock.Now())
	if limit {
		s.log.error("exception occurred %d times within %v (last: worker %d, %s), exiting", n, s.cfg.ExceptionTime, sl.id, what)
		s.alarm("", "[alarm] exiting,exception occurred more than "+strconv.Itoa(n-1)+" times within "+strconv.Itoa(int(s.cfg.ExceptionTime.Seconds()))+" seconds")
		s.shutdown(ExitExceptionLimit)
		return false
	}
	if sl.w == nil && sl.next == nil {
		s.countRestart(sl, monitor.ReasonCrash)
		s.scheduleStart(sl)
	}
	return true
}

// scheduleStart starts a worker in the empty slot sl now, or after the
// restart pacing of SPEC §6.
func (s *Supervisor) scheduleStart(sl *slot) {
	if sl.pending != nil {
		return
	}
	delay := restartDelay(sl, s.clock.Now())
	sl.restarts++
	if delay == 0 {
		s.startWorker(sl)
		return
	}
	sl.pending = s.clock.AfterFunc(delay, func() { s.post(restartDue{slot: sl.id}) })
}

// countRestart counts a worker started in sl to replace another.
func (s *Supervisor) countRestart(sl *slot, reason string) {
	s.restarts[reason]++
	if sl.restartsBy == nil {
		sl.restartsBy = map[string]int{}
	}
	sl.restartsBy[reason]++
}

func pidOf(w *worker) string { return strconv.Itoa(w.p.PID()) }
