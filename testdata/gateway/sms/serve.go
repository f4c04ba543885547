package sms

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/nodeagent/node-agent/container"
)

// readHeaderTimeout bounds how long a client may take to send its headers.
const readHeaderTimeout = 10 * time.Second

// Serve runs the gateway on ln until done is closed, then stops gracefully
// and returns nil:
//
//  1. the HTTP server drains with container.ServeHTTP: every later answer
//     carries "Connection: close", ln (this worker's copy of the agent's
//     shared socket) is closed, in-flight requests finish, idle keep-alive
//     connections get Config.IdleGrace for one more request; connections
//     still open after Config.ShutdownTimeout are closed;
//  2. the deliverer stops claiming; provider calls under way get
//     Config.DrainTimeout to finish; every message this worker still holds
//     is handed back to the store's queue (status queued) for the other
//     workers or the replacement — never marked failed.
//
// After /debug/fault/ignore-shutdown, a closed done is logged and ignored.
// If the HTTP server fails before done closes, the queue is drained the same
// way and the server's error is returned. Serve closes ln in every case.
func (g *Gateway) Serve(ln net.Listener, done <-chan struct{}) error {
	srv := &http.Server{
		Handler:           g.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
	g.deliverer.Start()
	sampled := make(chan struct{})
	stopSampling := make(chan struct{})
	go func() { defer close(sampled); g.sample(stopSampling) }()
	stop := make(chan struct{})
	served := make(chan error, 1)
	opts := container.DrainOptions{IdleGrace: g.cfg.IdleGrace, Timeout: g.cfg.ShutdownTimeout}
	go func() { served <- container.ServeHTTP(srv, ln, stop, opts) }()
	g.log.Info("sms gateway listening", "addr", ln.Addr().String(), "worker", g.cfg.WorkerID, "store", g.store.String())

	var serveErr error
wait:
	for {
		select {
		case <-done:
			if g.ignoreShutdown.Load() {
				g.log.Warn("shutdown requested but ignored (fault ignore-shutdown)")
				done = nil
				continue
			}
			g.log.Info("sms gateway stopping: draining in-flight requests", "timeout", g.cfg.ShutdownTimeout)
			close(stop)
			if err := <-served; err != nil {
				g.log.Warn("in-flight requests did not finish in time; their connections were closed", "err", err)
			}
			break wait
		case serveErr = <-served:
			g.log.Error("http server failed", "err", serveErr)
			break wait
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.DrainTimeout)
	defer cancel()
	if err := g.deliverer.Stop(ctx); err != nil {
		g.log.Warn("provider calls cut short by the drain timeout; their messages were handed back", "timeout", g.cfg.DrainTimeout)
	}
	close(stopSampling)
	<-sampled
	st := g.deliverer.Stats()
	if g.ownStore {
		if err := g.store.Close(); err != nil {
			g.log.Warn("closing the store", "err", err)
		}
	}
	g.log.Info("sms gateway stopped", "sent", st.Sent, "failed", st.Failed, "handed_back", st.Released, "taken_over", st.Takeovers)
	return serveErr
}

// sampleInterval is how often the queue metrics are sampled.
const sampleInterval = time.Second

// pruneInterval is how often expired idempotency keys and rate-limit stamps
// are deleted (stores that need it).
const pruneInterval = time.Minute

// sample reports the store's queue depth and oldest age every
// sampleInterval, and prunes the store now and then, until stop closes.
func (g *Gateway) sample(stop <-chan struct{}) {
	tick := time.NewTicker(sampleInterval)
	defer tick.Stop()
	var lastPrune time.Time
	for {
		select {
		case <-tick.C:
		case <-stop:
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), sampleInterval)
		st, err := g.store.Stats(ctx)
		if err == nil {
			g.hooks.Metrics.Observe(MetricQueueDepth, float64(st.Depth))
			age := 0.0
			if !st.Oldest.IsZero() {
				age = max(0, g.hooks.Now().Sub(st.Oldest).Seconds())
			}
			g.hooks.Metrics.Observe(MetricOldestQueued, age)
		}
		if p, ok := g.store.(pruner); ok && time.Since(lastPrune) >= pruneInterval {
			lastPrune = time.Now()
			if err := p.Prune(ctx, g.hooks.Now(), g.rateLimit().window); err != nil {
				g.log.Warn("pruning the store", "err", err)
			}
		}
		cancel()
	}
}

// pruner is a store that deletes expired keys itself only when asked.
type pruner interface {
	Prune(ctx context.Context, now time.Time, window time.Duration) error
}
