package agent

import (
	"context"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/nodeagent/node-agent/agent/config"
	"github.com/nodeagent/node-agent/container/wire"
	"github.com/nodeagent/node-agent/logs"
)

// Exit codes of the agent (SPEC §8).
const (
	ExitClean          = 0
	ExitInternal       = 1
	ExitUsage          = 2
	ExitExceptionLimit = 100
)

// Supervisor runs the workers of one service. All its state is owned by
// the goroutine running Run; everything else talks to it through events.
type Supervisor struct {
	cfg    *config.Config
	out    *Output
	log    agentLog
	clock  clock
	start  func(procSpec, func(event)) (proc, error)
	linked bool // the entry links the container library
	env    []string

	events  chan event
	quit    chan struct{}
	slots   []*slot
	old     map[proc]*worker // workers that left their slot but still run
	window  exceptionWindow
	sockets *sockets

	stopping bool
	forced   bool
	exitCode int

	memory    memoryReader
	lowMemory bool // in a low-memory episode: keepalive kills skipped
}

// New prepares a Supervisor for cfg writing to out. It starts nothing.
func New(cfg *config.Config, out *Output) *Supervisor {
	s := newSupervisor(cfg, out, realClock{})
	s.linked = linksContainer(cfg.Entry.Path)
	return s
}

func newSupervisor(cfg *config.Config, out *Output, c clock) *Supervisor {
	return &Supervisor{
		cfg:     cfg,
		out:     out,
		log:     agentLog{sink: out.Agent, pid: os.Getpid()},
		clock:   c,
		env:     baseEnv(cfg, os.Environ()),
		events:  make(chan event, 256),
		quit:    make(chan struct{}),
		old:     map[proc]*worker{},
		window:  exceptionWindow{max: cfg.ExceptionMax, span: cfg.ExceptionTime},
		sockets: newSockets(cfg.HTTPAddress),
		memory:  procMemory(""),
	}
}

// Run starts the workers and supervises them until the agent stops: a
// first signal on signals (SIGTERM, SIGINT) stops all workers gracefully, a
// second kills them at once; the exception limit stops them too. Run
// returns the agent's exit code once every worker has exited. Cancelling
// ctx is a first signal.
func (s *Supervisor) Run(ctx context.Context, signals <-chan os.Signal) int {
	if s.start == nil {
		st := newOSStarter(s.workerOutput)
		defer st.close()
		s.start = st.start
	}
	defer s.sockets.close()
	defer close(s.quit)
	s.log.info("starting agent: %s, %d workers, pid %d", s.cfg.Entry.Path, s.cfg.Instances, os.Getpid())
	if len(s.cfg.NodeArgs) > 0 {
		s.log.warn("--node-args %q ignored: a native entry has no runtime to take them", s.cfg.NodeArgs)
	}
	s.slots = make([]*slot, s.cfg.Instances)
	for i := range s.slots {
		s.slots[i] = &slot{id: i}
		s.startWorker(s.slots[i])
	}
	s.armKeepalive()
	done := ctx.Done()
	for !s.stopping || s.alive() > 0 {
		select {
		case ev := <-s.events:
			s.handle(ev)
		case sig := <-signals:
			s.handle(signalled{sig})
		case <-done:
			done = nil
			s.handle(signalled{syscall.SIGTERM})
		}
	}
	s.log.info("all workers stopped, exiting with code %d", s.exitCode)
	return s.exitCode
}

// post delivers an event to the run loop, or drops it once Run returned.
func (s *Supervisor) post(ev event) {
	select {
	case s.events <- ev:
	case <-s.quit:
	}
}

func (s *Supervisor) alive() int {
	n := len(s.old)
	for _, sl := range s.slots {
		if sl.w != nil {
			n++
		}
	}
	return n
}

func (s *Supervisor) handle(ev event) {
	switch ev := ev.(type) {
	case procMessage:
		s.onMessage(ev)
	case procExited:
		s.onExit(ev)
	case restartDue:
		sl := s.slots[ev.slot]
		sl.pending = nil
		if !s.stopping && sl.w == nil {
			s.startWorker(sl)
		}
	case killDue:
		if ev.w.state == Stopping {
			s.log.warn("worker %d (pid %d) exceeded the graceful timeout of %v, killing its process group", ev.w.slot, ev.w.p.PID(), s.cfg.GracefulShutdown)
			ev.w.p.SignalGroup(syscall.SIGKILL)
		}
	case signalled:
		s.onSignal(ev.sig)
	case keepaliveDue:
		s.checkKeepalive()
		s.armKeepalive()
	case syncEvent:
		close(ev.done)
	}
}

func (s *Supervisor) onSignal(sig os.Signal) {
	switch sig {
	case syscall.SIGTERM, syscall.SIGINT:
		if !s.stopping {
			s.log.info("received %v, stopping all workers", sig)
			s.shutdown(ExitClean)
			return
		}
		if !s.forced {
			s.forced = true
			s.log.warn("received %v again, killing all workers now", sig)
			s.each(func(w *worker) { w.p.SignalGroup(syscall.SIGKILL) })
		}
	case syscall.SIGHUP:
		s.log.warn("received SIGHUP: rolling reload is not available in this version, workers keep running")
	case syscall.SIGUSR1:
		s.log.info("received SIGUSR1, reopening the log files")
		if err := s.out.Reopen(); err != nil {
			s.log.error("reopening the log files: %v", err)
		}
	}
}

// each calls f for every running worker.
func (s *Supervisor) each(f func(w *worker)) {
	for _, sl := range s.slots {
		if sl.w != nil {
			f(sl.w)
		}
	}
	for _, w := range s.old {
		f(w)
	}
}

// shutdown stops every worker gracefully; Run returns when they are gone.
func (s *Supervisor) shutdown(code int) {
	if s.stopping {
		return
	}
	s.stopping = true
	s.exitCode = code
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

func (s *Supervisor) startWorker(sl *slot) {
	now := s.clock.Now()
	sl.lastStart = now
	spec := procSpec{
		Slot:  sl.id,
		Path:  s.cfg.Entry.Path,
		Args:  s.cfg.WorkerArgs,
		Dir:   s.cfg.Entry.Dir,
		Env:   workerEnv(s.env, sl.id),
		RunAs: s.cfg.RunAs,
	}
	p, err := s.start(spec, s.post)
	if err != nil {
		s.log.error("worker %d: %v", sl.id, err)
		s.exception(sl, "could not start")
		return
	}
	w := &worker{slot: sl.id, p: p, state: Starting, started: now, lastBeat: now}
	if !s.linked {
		w.state = Ready // a plain binary is ready when started (SPEC §5)
	}
	sl.w = w
	s.log.info("worker %d started, pid %d", sl.id, p.PID())
}

// find returns the worker of p, in a slot or among the old ones.
func (s *Supervisor) find(p proc) *worker {
	for _, sl := range s.slots {
		if sl.w != nil && sl.w.p == p {
			return sl.w
		}
	}
	return s.old[p]
}

func (s *Supervisor) onMessage(ev procMessage) {
	w := s.find(ev.p)
	m := ev.msg
	defer func() {
		for _, f := range m.Files {
			f.Close()
		}
	}()
	if w == nil {
		return
	}
	switch m.Kind {
	case wire.KindHello:
		var h wire.Hello
		if err := m.Decode(&h); err != nil || h.Version != wire.Version {
			s.log.error("worker %d (pid %d) speaks protocol %d, the agent %d: stopping it", w.slot, w.p.PID(), h.Version, wire.Version)
			s.stopWorker(w, "protocol mismatch")
			return
		}
		w.linked = true
	case wire.KindReady:
		if w.state == Starting {
			w.state = Ready
			w.lastBeat = s.clock.Now() // the keepalive deadline starts now
			s.log.info("worker %d (pid %d) ready after %v", w.slot, w.p.PID(), s.clock.Now().Sub(w.started).Round(time.Millisecond))
		}
	case wire.KindHeartbeat:
		w.lastBeat = s.clock.Now()
	case wire.KindListen:
		s.onListen(w, m)
	case wire.KindLog:
		var l wire.Log
		if m.Decode(&l) == nil {
			lv, err := logs.ParseLevel(l.Level)
			if err != nil || lv == logs.LevelNone {
				lv = logs.LevelInfo
			}
			s.out.App.Write(logs.Record{Time: time.UnixMilli(l.Time), PID: w.p.PID(), Level: lv, File: l.File, Line: l.Line, Message: l.Message})
		}
	}
}

// workerOutput writes what a worker writes to stdout (level "INFO") or
// stderr ("ERROR") to the service log, line by line, until r ends.
func (s *Supervisor) workerOutput(pid int, level string, r io.Reader) {
	lv := logs.LevelInfo
	if level == "ERROR" {
		lv = logs.LevelError
	}
	logs.Pump(s.out.App, r, pid, lv)
}

func (s *Supervisor) onListen(w *worker, m wire.Message) {
	var req wire.Listen
	if err := m.Decode(&req); err != nil {
		return
	}
	res := wire.ListenResult{ID: req.ID}
	f, addr, err := s.sockets.get(req.Network, req.Address)
	if err != nil {
		res.Error = err.Error()
		s.log.error("worker %d (pid %d) asked to listen on %q: %v", w.slot, w.p.PID(), req.Address, err)
		w.p.Send(wire.KindListenResult, res)
		return
	}
	res.Address = addr
	w.p.Send(wire.KindListenResult, res, f)
}

func (s *Supervisor) onExit(ev procExited) {
	w := s.find(ev.p)
	if w == nil {
		return
	}
	if w.killTimer != nil {
		w.killTimer.Stop()
	}
	// Whatever the worker left in its process group goes with it.
	w.p.SignalGroup(syscall.SIGKILL)
	delete(s.old, ev.p)
	sl := s.slots[w.slot]
	if sl.w == w {
		sl.w = nil
	}
	w.state = Stopped
	if w.zombie {
		s.log.error("worker %d (pid %d) killed for missing heartbeats, exited with %v", w.slot, w.p.PID(), ev.status)
		if !s.stopping {
			s.exception(sl, "no heartbeat")
		}
		return
	}
	if w.requested {
		s.log.info("worker %d (pid %d) stopped (%s) with %v", w.slot, w.p.PID(), w.reason, ev.status)
		return
	}
	s.log.error("worker %d (pid %d) exited unexpectedly with %v", w.slot, w.p.PID(), ev.status)
	if !s.stopping {
		s.exception(sl, ev.status.String())
	}
}

// exception counts an unrequested exit in sl and restarts it, or stops the
// agent when the limit is reached.
func (s *Supervisor) exception(sl *slot, what string) {
	n, limit := s.window.record(s.clock.Now())
	if limit {
		s.log.error("exception occurred %d times within %v (last: worker %d, %s), exiting", n, s.cfg.ExceptionTime, sl.id, what)
		s.shutdown(ExitExceptionLimit)
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

// armKeepalive schedules the next keepalive check: one timer for all
// workers, every heartbeat interval, so detection takes at most
// keepalive + keepalive/5 and nothing is left behind by restarts.
func (s *Supervisor) armKeepalive() {
	if iv := heartbeatInterval(s.cfg.KeepaliveTime); iv > 0 && !s.stopping {
		s.clock.AfterFunc(iv, func() { s.post(keepaliveDue{}) })
	}
}

// checkKeepalive kills ready linked workers silent for longer than the
// keepalive time (SPEC §7): SIGKILL of the group, an exception, a restart.
func (s *Supervisor) checkKeepalive() {
	now := s.clock.Now()
	var zombies []*worker
	for _, sl := range s.slots {
		if w := sl.w; w != nil && !w.zombie {
			if silent, ok := silentFor(w, now); ok && silent > s.cfg.KeepaliveTime {
				zombies = append(zombies, w)
			}
		}
	}
	if len(zombies) == 0 {
		return
	}
	low, why := memoryLow(s.memory)
	if low {
		if !s.lowMemory {
			s.log.warn("keepalive kills skipped while %s", why)
		}
		s.lowMemory = true
		return
	}
	if s.lowMemory {
		s.log.info("memory is back above the keepalive floor")
		s.lowMemory = false
	}
	for _, w := range zombies {
		s.log.error("worker %d (pid %d) sent no heartbeat for %v (keepalive %v): zombie, killing its process group",
			w.slot, w.p.PID(), now.Sub(w.lastBeat).Round(time.Millisecond), s.cfg.KeepaliveTime)
		w.zombie = true
		w.p.SignalGroup(syscall.SIGKILL)
	}
}
