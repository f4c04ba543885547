package sms

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Hooks are the gateway's seams to the process and the clock. The zero value
// is valid: real time, the stub provider built from Config, and fault
// switches that need a process action answer 501 when theirs is nil. The sms
// package never exits, stops or re-signals the process itself; main does that
// through these hooks.
type Hooks struct {
	Now      func() time.Time // default time.Now
	Sleep    SleepFunc        // backoff and stub-latency waits; default Sleep
	Provider Provider         // default NewStubProvider(Config.Provider*)

	Exit          func(code int) // /debug/fault/crash: exit the process now
	Stop          func()         // /debug/fault/hang: SIGSTOP the process
	IgnoreSignals func()         // /debug/fault/ignore-shutdown: ignore SIGTERM

	// Middleware, when set, wraps the whole HTTP API (main passes the
	// worker's container.Worker.MonitorHTTP, for the agent's statistics).
	Middleware func(http.Handler) http.Handler
}

// Gateway is one worker's SMS gateway: the HTTP API, the rate limiter and
// store shared with the other workers through Config.DataDir, and this
// worker's delivery queue. Create it with New, run it with Serve.
type Gateway struct {
	cfg       Config
	log       *slog.Logger
	hooks     Hooks
	pid       int
	templates map[string]Template
	limiter   *Limiter
	store     *Store
	queue     *Queue
	handler   http.Handler

	inFlight       atomic.Int64 // HTTP requests being served
	ignoreShutdown atomic.Bool  // set by /debug/fault/ignore-shutdown

	ballastMu sync.Mutex
	ballast   [][]byte // memory held by /debug/fault/grow
}

// Stats is the sms.stats admin reply.
type Stats struct {
	Worker       int   `json:"worker"`
	PID          int   `json:"pid"`
	HTTPInFlight int64 `json:"http_in_flight"`
	QueueStats
}

// New validates cfg, creates the data directory layout and returns a gateway
// ready to Serve. log receives the gateway's records.
func New(cfg Config, log *slog.Logger, hooks Hooks) (*Gateway, error) {
	cfg = cfg.withDefaults()
	if cfg.ProviderFailureRate < 0 || cfg.ProviderFailureRate > 1 {
		return nil, fmt.Errorf("sms: provider failure rate %v is not in [0, 1]", cfg.ProviderFailureRate)
	}
	if hooks.Now == nil {
		hooks.Now = time.Now
	}
	if hooks.Sleep == nil {
		hooks.Sleep = Sleep
	}
	if hooks.Provider == nil {
		hooks.Provider = NewStubProvider(cfg.ProviderLatency, cfg.ProviderFailureRate, cfg.ProviderSeed, hooks.Sleep)
	}
	limiter, err := NewLimiter(filepath.Join(cfg.DataDir, "rate"), cfg.RateLimit, cfg.RateWindow, hooks.Now)
	if err != nil {
		return nil, fmt.Errorf("sms: data dir %s: %w", cfg.DataDir, err)
	}
	store, err := NewStore(filepath.Join(cfg.DataDir, "msg"))
	if err != nil {
		return nil, fmt.Errorf("sms: data dir %s: %w", cfg.DataDir, err)
	}
	g := &Gateway{
		cfg: cfg, log: log, hooks: hooks, pid: os.Getpid(),
		templates: BuiltinTemplates(), limiter: limiter, store: store,
	}
	g.queue = NewQueue(QueueOptions{
		Store: store, Provider: hooks.Provider, Log: log, Sleep: hooks.Sleep, Now: hooks.Now,
		Size: cfg.QueueSize, Senders: cfg.Senders, MaxAttempts: cfg.MaxAttempts,
		BackoffBase: cfg.BackoffBase, BackoffMax: cfg.BackoffMax,
	})
	g.handler = g.routes()
	if hooks.Middleware != nil {
		g.handler = hooks.Middleware(g.handler)
	}
	return g, nil
}

// Handler returns the gateway's HTTP API. Messages it accepts are delivered
// only while Serve runs.
func (g *Gateway) Handler() http.Handler { return g.handler }

// Stats returns the counters of this worker.
func (g *Gateway) Stats() Stats {
	return Stats{Worker: g.cfg.WorkerID, PID: g.pid, HTTPInFlight: g.inFlight.Load(), QueueStats: g.queue.Stats()}
}

// Config returns the configuration in effect, defaults filled in.
func (g *Gateway) Config() Config { return g.cfg }
