package sms

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/auth"
)

// Hooks are the gateway's seams to the process and the clock. The zero value
// is valid: real time, the store and provider named by Config, and fault
// switches that need a process action answer 501 when theirs is nil. The sms
// package never exits, stops or re-signals the process itself; main does that
// through these hooks.
type Hooks struct {
	Now      func() time.Time // default time.Now
	Sleep    SleepFunc        // the stub provider's latency; default Sleep
	Provider Provider         // default HTTPProvider(Config.ProviderURL) if set, else NewStubProvider(Config.Provider*)
	Store    Store            // default OpenStore(Config.Store, Config.DataDir), closed when Serve returns
	Metrics  Metrics          // business metrics; default none
	// Receipts, when set, serves provider.ReceiptPattern (the providers'
	// delivery receipt pushes); main builds it over ReceiptStore.
	Receipts http.Handler

	Exit          func(code int) // /debug/fault/crash: exit the process now
	Stop          func()         // /debug/fault/hang: SIGSTOP the process
	IgnoreSignals func()         // /debug/fault/ignore-shutdown: ignore SIGTERM

	// Auth, when set, authenticates every /api/sms/* call, checks each
	// application's templates and quotas and writes the audit log (package
	// auth); New fills in the store, data directory, log, metrics, clock
	// and body limit. Nil: no authentication (SMS_AUTH=off, tests).
	Auth *auth.Options

	// Middleware, when set, wraps the whole HTTP API (main passes the
	// worker's container.Worker.MonitorHTTP, for the agent's statistics).
	Middleware func(http.Handler) http.Handler
}

// Gateway is one worker's SMS gateway: the HTTP API over the store shared
// with the other workers, and this worker's Deliverer. Create it with New,
// run it with Serve.
type Gateway struct {
	cfg       Config
	log       *slog.Logger
	hooks     Hooks
	pid       int
	templates map[string]Template
	store     Store
	ownStore  bool // opened by New: closed when Serve returns
	deliverer *Deliverer
	guard     *auth.Guard // nil without Hooks.Auth
	handler   http.Handler

	limit          atomic.Pointer[rateLimit] // SetRateLimit's, else cfg's
	inFlight       atomic.Int64              // HTTP requests being served
	ignoreShutdown atomic.Bool               // set by /debug/fault/ignore-shutdown
	lastStoreLog   atomic.Int64              // when a store failure was last logged (Unix ns)

	ballastMu sync.Mutex
	ballast   [][]byte // memory held by /debug/fault/grow
}

// Stats is the sms.stats admin reply.
type Stats struct {
	Worker       int    `json:"worker"`
	PID          int    `json:"pid"`
	HTTPInFlight int64  `json:"http_in_flight"`
	Store        string `json:"store"`
	DeliveryStats
}

// New validates cfg, opens the store and returns a gateway ready to Serve.
// log receives the gateway's records. An unreachable store is an error
// naming it.
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
	if hooks.Metrics == nil {
		hooks.Metrics = NoMetrics{}
	}
	if hooks.Provider == nil {
		hooks.Provider = NewStubProvider(cfg.ProviderLatency, cfg.ProviderFailureRate, cfg.ProviderSeed, hooks.Sleep)
		if cfg.ProviderURL != "" {
			hooks.Provider = NewHTTPProvider(cfg.ProviderURL, DefaultProviderTimeout)
		}
	}
	g := &Gateway{
		cfg: cfg, log: log, hooks: hooks, pid: os.Getpid(),
		templates: BuiltinTemplates(), store: hooks.Store,
	}
	if g.store == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		store, err := OpenStore(ctx, cfg.Store, cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("sms: %w", err)
		}
		g.store, g.ownStore = store, true
	}
	if hooks.Auth != nil {
		if err := g.newGuard(*hooks.Auth); err != nil {
			if g.ownStore {
				g.store.Close()
			}
			return nil, err
		}
	}
	g.deliverer = NewDeliverer(DelivererOptions{
		Store: g.store, Provider: hooks.Provider, Log: log, Now: hooks.Now,
		Metrics: hooks.Metrics, WorkerID: cfg.WorkerID,
		Senders: cfg.Senders, Lease: cfg.Lease, PollInterval: cfg.PollInterval, Retry: cfg.Retry,
	})
	g.handler = g.routes()
	if hooks.Middleware != nil {
		g.handler = hooks.Middleware(g.handler)
	}
	return g, nil
}

// newGuard builds the authentication over the gateway's store.
func (g *Gateway) newGuard(o auth.Options) error {
	st, ok := g.store.(auth.Store)
	if !ok {
		return fmt.Errorf("sms: the store %s keeps no nonces or quotas: authentication needs it", g.store)
	}
	o.Store, o.DataDir, o.Log, o.Metrics, o.Now, o.MaxBodyBytes = st, g.cfg.DataDir, g.log, g.hooks.Metrics, g.hooks.Now, g.cfg.MaxBodyBytes
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	guard, err := auth.NewGuard(ctx, o)
	if err != nil {
		return err
	}
	g.guard = guard
	return nil
}

// Handler returns the gateway's HTTP API. Messages it accepts are delivered
// only while Serve runs.
func (g *Gateway) Handler() http.Handler { return g.handler }

// Stats returns the counters of this worker.
func (g *Gateway) Stats() Stats {
	return Stats{Worker: g.cfg.WorkerID, PID: g.pid, HTTPInFlight: g.inFlight.Load(), Store: g.store.String(), DeliveryStats: g.deliverer.Stats()}
}

// Config returns the configuration in effect, defaults filled in.
func (g *Gateway) Config() Config { return g.cfg }
