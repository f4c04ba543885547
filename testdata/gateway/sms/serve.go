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
//  2. the queue stops accepting and is given Config.DrainTimeout to deliver
//     what it holds; messages still undelivered then are recorded as failed.
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
	g.queue.Start()
	stop := make(chan struct{})
	served := make(chan error, 1)
	opts := container.DrainOptions{IdleGrace: g.cfg.IdleGrace, Timeout: g.cfg.ShutdownTimeout}
	go func() { served <- container.ServeHTTP(srv, ln, stop, opts) }()
	g.log.Info("sms gateway listening", "addr", ln.Addr().String(), "worker", g.cfg.WorkerID, "data_dir", g.cfg.DataDir)

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
	if err := g.queue.Drain(ctx); err != nil {
		g.log.Warn("queue not drained in time; undelivered messages marked failed", "timeout", g.cfg.DrainTimeout)
	}
	st := g.queue.Stats()
	g.log.Info("sms gateway stopped", "sent", st.Sent, "failed", st.Failed)
	return serveErr
}
