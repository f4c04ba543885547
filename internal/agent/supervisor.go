package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nodeagent/node-agent/internal/agent/config"
	"github.com/nodeagent/node-agent/internal/monitor"

	"github.com/nodeagent/node-agent/internal/plural"
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
// Run's loop routes each event (handle) to the part that owns its state;
// the parts are the named fields below, each a type of its own (doc.go).
type Supervisor struct {
	// The parts.
	sys     osEnv          // the operating system (osenv.go)
	table   table          // the worker table: slots, and workers that left theirs
	policy  restartPolicy  // what follows a worker's end: the exception window
	rollout *rollout       // replacements, the rolling reload, scale
	gathers gathers        // forwarded admin commands waiting for answers
	report  *reporting     // counters from the events; the one Status snapshot
	hook    hook           // every Event, in order, to the subscribers (Subscribe)
	starts  *startFailures // why the first start failed, if it does
	sockets *sockets       // the listening sockets the workers share
	up      upgrader       // upgrades in place (upgrade.go)

	// The run loop's own state.
	events   chan event
	queued   []event // events the run loop posted to itself (handleOwnEvents)
	quit     chan struct{}
	began    time.Time
	stopping bool
	forced   bool
	exitCode int

	// Settings, from the config and what changed them since.
	version string // the agent's version (Options.Version)
	cfg     *config.Config
	env     []string
	linked  bool         // the entry links the container library
	level   config.Level // the current log level (tars.setloglevel)
	// readyTimeout and replyTimeout bound every worker's start and the
	// workers' answers to a forwarded command.
	readyTimeout time.Duration
	replyTimeout time.Duration

	// Output, exporters and links.
	out   *Output
	log   agentLog
	links *tarsLinks
	// configs fetches config files for tars.loadconfig (set by New when
	// the TARS config names a ConfigObj); Notify reads it from any
	// goroutine.
	configs atomic.Pointer[configPuller]
	mon     *monitors
	stats   *monitor.Aggregator

	// Usage sampling and keepalive.
	lowMemory    bool // in a low-memory episode: keepalive kills skipped
	cpuSampledAt time.Time
}

// systemd is the part of notify.Systemd the run loop uses.
type systemd interface {
	Notify(state ...string) error
	WatchdogInterval() time.Duration
}

// Options are the Supervisor's settings that are not in the config.
type Options struct {
	// Version is the agent's version, answered to tars.viewversion and
	// reported to tarsnode.
	Version string
	// Handover, when set, is the state a previous program of this agent
	// handed over at an upgrade in place (TakeHandover): New adopts its
	// sockets and workers instead of opening and starting new ones.
	Handover *Handover
}

// New prepares a Supervisor for cfg writing to out and opens what can
// fail before any worker starts: the --watch watcher, the AdminF endpoint
// (--tars-local), the tarsnode reporter and alarms, the metrics endpoint
// (--metrics-address) and the StatF/PropertyF reporter. Its errors are
// usage errors (exit 2). It starts no worker; Run does, and closes what
// New opened when it returns, so call Run once New succeeded.
func New(cfg *config.Config, out *Output, opts Options) (*Supervisor, error) {
	return newSupervisor(cfg, out, opts, newOSEnv)
}

// newSupervisor is New on the operating system that env builds.
func newSupervisor(cfg *config.Config, out *Output, opts Options, env func(*Supervisor) (osEnv, error)) (*Supervisor, error) {
	s := &Supervisor{
		version:      opts.Version,
		cfg:          cfg,
		out:          out,
		log:          newAgentLog(out.Agent),
		env:          baseEnv(cfg, os.Environ()),
		events:       make(chan event, 256),
		quit:         make(chan struct{}),
		table:        table{old: map[proc]*worker{}},
		policy:       newRestartPolicy(cfg.ExceptionMax, cfg.ExceptionTime),
		level:        cfg.AppLogLevel,
		gathers:      gathers{byID: map[uint64]*gather{}},
		starts:       newStartFailures(),
		readyTimeout: orDefault(cfg.ReadyTimeout, config.DefaultReadyTimeout),
		replyTimeout: defaultReplyTimeout,
		stats:        monitor.NewAggregator(),
		report:       newReporting(),
	}
	s.up.adopted = opts.Handover
	s.sockets = newSockets(cfg.HTTPAddress, cfg.Steering, s.log)
	s.Subscribe(s.logEvent)
	s.Subscribe(s.report.observe)
	e, err := env(s)
	if err != nil {
		return nil, err
	}
	s.sys = e
	s.rollout = newRollout(s, &s.table, e.clock, s.log)
	s.linked = s.sys.linkedEntry(cfg.Entry.Path)
	if err := s.open(); err != nil {
		return nil, errors.Join(err, s.closeOS())
	}
	return s, nil
}

// closeOS stops what the operating system env started.
func (s *Supervisor) closeOS() error {
	if s.sys.close == nil {
		return nil
	}
	return s.sys.close()
}

// orDefault returns d, or def when d is not positive.
func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// open opens the TARS links and the exporters cfg asks for, after
// refusing a TarsGo server as the worker under a TARS config.
func (s *Supervisor) open() error {
	if err := refuseTarsGoWorker(s.cfg.Entry.Path, s.cfg.TarsConfig); err != nil {
		return err
	}
	l, err := s.openTARS()
	if err != nil {
		return err
	}
	m, err := s.openMonitors()
	if err != nil {
		l.close()
		return err
	}
	s.links, s.mon = l, m
	return nil
}

// Run starts the workers and supervises them until the agent stops: a
// first signal on signals (SIGTERM, SIGINT) stops all workers gracefully, a
// second kills them at once; the exception limit stops them too. SIGHUP
// reloads the workers one by one, SIGUSR1 reopens the log files. Run
// returns the agent's exit code once every worker has exited. Cancelling
// ctx is a first signal.
func (s *Supervisor) Run(ctx context.Context, signals <-chan os.Signal) int {
	defer func() {
		if err := s.closeOS(); err != nil {
			s.log.warn("%v", err)
		}
	}()
	defer s.links.close()
	defer s.mon.close()
	defer s.sockets.close()
	defer close(s.quit)
	s.began = s.sys.clock.Now()
	s.log.info("starting agent %s: %s, %s, pid %d", s.version, s.cfg.Entry.Path, plural.Workers(s.cfg.Instances), os.Getpid())
	if len(s.cfg.NodeArgs) > 0 {
		s.log.warn("--node-args %q ignored: a native entry has no runtime to take them", s.cfg.NodeArgs)
	}
	if s.up.adopted == nil { // an upgrade in place is no restart
		s.alarm("", "restart")
	}
	s.table.slots = make([]*slot, s.cfg.Instances)
	for i := range s.table.slots {
		s.table.slots[i] = &slot{id: i}
	}
	if !s.adoptHandover() {
		s.startSlots(signals)
	}
	s.armKeepalive()
	s.armSampling()
	s.armWatchdog()
	s.reportReadiness()
	done := ctx.Done()
	for !s.stopping || s.table.alive() > 0 {
		select {
		case ev := <-s.events:
			s.process(ev)
		case sig := <-signals:
			s.process(signalled{sig})
		case <-done:
			done = nil
			s.process(signalled{syscall.SIGTERM})
		}
		s.steer()
	}
	s.finishRequests()
	s.alarm("", "stop") // once the shutdown is over, as TarsGo reports it
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

func (s *Supervisor) handle(ev event) {
	switch ev := ev.(type) {
	case procMessage:
		s.onMessage(ev)
	case procExited:
		s.onExit(ev)
	case restartDue:
		s.onRestartDue(ev.slot)
	case killDue:
		s.onKillDue(ev.w)
	case signalled:
		s.onSignal(ev.sig)
	case keepaliveDue:
		s.checkKeepalive()
		s.armKeepalive()
	case shutdownRequest:
		s.shutdown(ExitClean, "received a shutdown request")
	case adminRequest:
		s.onAdmin(ev)
	case rebuildRequest:
		s.rebuildThenReload("reload requested", ev.req)
	case rebuilt:
		s.onRebuilt(ev)
	case statusRequest:
		ev.reply <- s.status()
	case gatherDue:
		s.gathers.finish(ev.g)
	case readyDue:
		s.onReadyTimeout(ev.w)
	case startFailed:
		s.onStartFailed(ev)
	case sampleDue:
		s.requestSample()
	case queueCheckDue:
		s.onQueueCheck()
	case usageSampled:
		s.onUsage(ev.usage)
		s.armSampling()
	case watchEvent:
		s.onWatch(ev.ev)
	case watchdogDue:
		s.sdNotify("WATCHDOG=1")
		s.armWatchdog()
	case syncEvent:
		close(ev.done)
	case upgradeRequest:
		s.onUpgrade(ev)
	case upgradeChecked:
		s.onUpgradeChecked(ev)
	}
}

func (s *Supervisor) onSignal(sig os.Signal) {
	switch sig {
	case syscall.SIGTERM, syscall.SIGINT:
		if !s.stopping {
			s.shutdown(ExitClean, fmt.Sprintf("received %v", sig))
			return
		}
		s.killAll(sig)
	case syscall.SIGQUIT:
		// As PID 1 nothing else would act on it: stop at once.
		s.shutdown(ExitClean, fmt.Sprintf("received %v", sig))
		s.killAll(sig)
	case syscall.SIGHUP:
		s.rebuildThenReload("received SIGHUP", adminRequest{})
	case syscall.SIGUSR2:
		s.log.info("received SIGUSR2, upgrading the agent in place to its executable")
		s.onUpgrade(upgradeRequest{asked: s.sys.clock.Now()})
	case syscall.SIGUSR1:
		s.log.info("received SIGUSR1, reopening the log files")
		if err := s.out.Reopen(); err != nil {
			s.log.error("reopening the log files: %v", err)
		}
	}
}

// killAll SIGKILLs every worker's process group, once.
func (s *Supervisor) killAll(sig os.Signal) {
	if s.forced {
		return
	}
	s.forced = true
	s.log.warn("received %v while stopping, killing all workers now", sig)
	s.table.each(func(w *worker) { w.p.SignalGroup(syscall.SIGKILL) })
}

// alarm raises an alarm (an Alarm event, which the TARS alarms report).
// threadID is the worker's pid, or "" for the agent as a whole.
func (s *Supervisor) alarm(threadID, message string) {
	s.emit(Alarm{ThreadID: threadID, Message: message})
}

// logEvent writes ev to the agent log; alarms are not written: the event
// that caused one is.
func (s *Supervisor) logEvent(ev Event) {
	if _, ok := ev.(Alarm); ok {
		return
	}
	s.log.event(ev)
}
