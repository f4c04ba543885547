package container

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
	"golang.org/x/sys/unix"
)

// Errors to branch on.
var (
	// ErrNoAddress is returned by Listen for the address "" when nobody
	// supplies one: standalone with PORT unset, or under an agent started
	// without --http-address. The service then passes its own address.
	ErrNoAddress = errors.New("container: no address to listen on: pass one, set PORT or start the agent with --http-address")
	// ErrAlreadyOpen is returned by a second call to Open.
	ErrAlreadyOpen = errors.New("container: Open called twice")
	// ErrClosed is returned by calls on a closed Worker.
	ErrClosed = errors.New("container: worker closed")
)

// OrphanGrace is how long a worker whose agent died may take to stop after
// Done is closed before the library kills the process: workers never
// outlive their agent.
const OrphanGrace = 500 * time.Millisecond

// opened guards Open: a process has one channel to its agent.
var opened atomic.Bool

// Worker is the connection of this process to its agent. Its methods are
// safe for concurrent use.
type Worker struct {
	conn      *wire.Conn // nil in standalone mode
	id        int
	heartbeat time.Duration
	orphaned  func()

	done     chan struct{}
	doneOnce sync.Once
	ready    sync.Once
	closed   chan struct{}
	close    sync.Once

	requestID atomic.Uint64 // of Listen and AddConfig requests
	mu        sync.Mutex
	pending   map[uint64]chan wire.Message // their answers, by id
	handlers  map[string]HandlerFunc
	onConfig  func(ctx context.Context, path string) error // OnConfig

	level   *slog.LevelVar
	logger  *slog.Logger
	monitor *monitor // statistics: MonitorHTTP, Property
	start   time.Time
	sigs    chan os.Signal
	wg      sync.WaitGroup
}

// Open connects to the agent that started this process, as described by the
// environment, or returns a standalone Worker when no agent started it (run
// by hand, in tests): then Listen uses net.Listen, Done closes on SIGTERM or
// SIGINT and the logger writes to stderr. Open fails only when the
// environment names a channel that cannot be used. Call it once per process,
// early in main.
func Open() (*Worker, error) {
	if !opened.CompareAndSwap(false, true) {
		return nil, ErrAlreadyOpen
	}
	opts, err := optionsFromEnv()
	if err != nil {
		return nil, err
	}
	return OpenWith(opts)
}

// Options configure OpenWith. The zero value is a standalone worker.
type Options struct {
	// Channel is this end of the agent channel; nil for standalone. OpenWith
	// takes ownership of it.
	Channel *os.File
	// WorkerID is the worker's slot.
	WorkerID int
	// Heartbeat is the interval of heartbeats; 0 sends none.
	Heartbeat time.Duration
	// LogLevel is the initial level of Logger: DEBUG (the zero value),
	// INFO, WARN, ERROR or NONE.
	LogLevel string
	// Orphaned is called when the channel ends while the worker is open:
	// the agent died. Done is already closed. nil kills the process after
	// OrphanGrace, so workers never outlive their agent.
	Orphaned func()
	// Monitor configures statistics (MonitorHTTP, Property); they are sent
	// only with a Channel.
	Monitor MonitorOptions
}

// OpenWith is Open with explicit options instead of the environment. It is
// what containertest uses to connect a worker to a fake agent.
func OpenWith(opts Options) (*Worker, error) {
	level := new(slog.LevelVar)
	level.Set(slog.LevelDebug)
	if opts.LogLevel != "" {
		lv, ok := parseLevel(opts.LogLevel)
		if !ok {
			if opts.Channel != nil {
				opts.Channel.Close()
			}
			return nil, fmt.Errorf("container: unknown log level %q: want DEBUG, INFO, WARN, ERROR or NONE", opts.LogLevel)
		}
		level.Set(lv)
	}
	w := &Worker{
		id:        opts.WorkerID,
		heartbeat: opts.Heartbeat,
		orphaned:  opts.Orphaned,
		done:      make(chan struct{}),
		closed:    make(chan struct{}),
		pending:   make(map[uint64]chan wire.Message),
		handlers:  make(map[string]HandlerFunc),
		level:     level,
		start:     time.Now(),
		sigs:      make(chan os.Signal, 2),
	}
	if opts.Channel != nil {
		conn, err := wire.FileConn(opts.Channel)
		opts.Channel.Close()
		if err != nil {
			return nil, fmt.Errorf("container: %w", err)
		}
		w.conn = conn
		if err := conn.Send(wire.KindHello, wire.Hello{Version: wire.Version, PID: os.Getpid()}); err != nil {
			conn.Close()
			return nil, fmt.Errorf("container: greeting the agent: %w", err)
		}
	}
	w.logger = slog.New(w.newLogHandler())
	w.monitor = newMonitor(opts.Monitor, w.conn != nil)
	w.registerBuiltins()
	signal.Notify(w.sigs, syscall.SIGTERM, syscall.SIGINT)
	w.wg.Add(1)
	go w.watchSignals()
	if w.conn != nil {
		w.wg.Add(1)
		go w.receive()
		if w.heartbeat > 0 {
			w.wg.Add(1)
			go w.beat()
		}
		if w.monitor.on {
			w.wg.Add(1)
			go w.monitorLoop()
		}
	}
	return w, nil
}

// optionsFromEnv reads the variables the agent sets and removes them, so
// the worker's own children do not mistake themselves for workers.
func optionsFromEnv() (Options, error) {
	var opts Options
	if s, ok := os.LookupEnv("WORKER_ID"); ok {
		id, err := strconv.Atoi(s)
		if err != nil || id < 0 {
			return opts, fmt.Errorf("container: WORKER_ID=%q is not a slot number", s)
		}
		opts.WorkerID = id
	}
	fdText, ok := os.LookupEnv(wire.EnvChannelFD)
	if !ok {
		return opts, nil
	}
	defer os.Unsetenv(wire.EnvChannelFD)
	defer os.Unsetenv(wire.EnvProtocol)
	defer os.Unsetenv(wire.EnvHeartbeat)
	defer os.Unsetenv(wire.EnvLogLevel)
	opts.LogLevel = os.Getenv(wire.EnvLogLevel)
	var err error
	if opts.Monitor, err = monitorFromEnv(); err != nil {
		return opts, err
	}
	if v := os.Getenv(wire.EnvProtocol); v != strconv.Itoa(wire.Version) {
		return opts, fmt.Errorf("container: the agent speaks protocol %q, this library %d: rebuild the worker with a matching node-agent", v, wire.Version)
	}
	fd, err := strconv.Atoi(fdText)
	if err != nil || fd < 3 {
		return opts, fmt.Errorf("container: %s=%q is not a descriptor", wire.EnvChannelFD, fdText)
	}
	if ms := os.Getenv(wire.EnvHeartbeat); ms != "" {
		n, err := strconv.Atoi(ms)
		if err != nil || n < 0 {
			return opts, fmt.Errorf("container: %s=%q is not a number of milliseconds", wire.EnvHeartbeat, ms)
		}
		opts.Heartbeat = time.Duration(n) * time.Millisecond
	}
	unix.CloseOnExec(fd)
	opts.Channel = os.NewFile(uintptr(fd), "node-agent-channel")
	return opts, nil
}

// Standalone reports whether the process runs without an agent.
func (w *Worker) Standalone() bool { return w.conn == nil }

// WorkerID returns the worker's slot, 0..N-1 (0 standalone). A replacement
// worker gets the slot of the worker it replaces.
func (w *Worker) WorkerID() int { return w.id }

// Done is closed when the worker should stop gracefully: the agent asked
// (shutdown, reload, scale down), the process got SIGTERM or SIGINT, or the
// agent died. Stop accepting, finish in-flight work, return from main.
func (w *Worker) Done() <-chan struct{} { return w.done }

// Ready tells the agent that the worker serves requests. The first Accept
// on a listener from Listen calls it; call it yourself for a worker that
// does not accept connections. Calls after the first do nothing.
func (w *Worker) Ready() {
	w.ready.Do(func() {
		if w.conn != nil {
			w.send(wire.KindReady, nil)
		}
	})
}

// Close stops the library's goroutines and closes the channel; the agent
// sees the worker as gone only when the process exits. Close is idempotent.
func (w *Worker) Close() error {
	w.close.Do(func() {
		close(w.closed)
		signal.Stop(w.sigs)
		if w.monitor.on {
			w.flushMonitor() // the last statistics, before the channel goes
		}
		if w.conn != nil {
			w.conn.Close()
		}
	})
	w.wg.Wait()
	return nil
}

func (w *Worker) stop() { w.doneOnce.Do(func() { close(w.done) }) }

// send writes a frame; errors mean the agent is gone, which receive notices.
func (w *Worker) send(k wire.Kind, v any) error {
	return w.conn.Send(k, v)
}

// watchSignals turns the first SIGTERM/SIGINT into Done, and a second one
// into the default action, so a worker that ignores Done can still be
// stopped from a terminal.
func (w *Worker) watchSignals() {
	defer w.wg.Done()
	for n := 0; ; n++ {
		select {
		case <-w.closed:
			return
		case sig := <-w.sigs:
			if n == 0 {
				w.stop()
				continue
			}
			signal.Reset(syscall.SIGTERM, syscall.SIGINT)
			syscall.Kill(os.Getpid(), sig.(syscall.Signal))
			return
		}
	}
}

// beat sends heartbeats until the worker closes.
func (w *Worker) beat() {
	defer w.wg.Done()
	t := time.NewTicker(w.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-w.closed:
			return
		case <-t.C:
			if w.send(wire.KindHeartbeat, nil) != nil {
				return
			}
		}
	}
}
