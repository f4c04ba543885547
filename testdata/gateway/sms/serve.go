package sms

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// readHeaderTimeout bounds how long a client may take to send its headers.
const readHeaderTimeout = 10 * time.Second

// Serve runs the gateway on ln until done is closed, then stops gracefully
// and returns nil:
//
//  1. http.Server.Shutdown: ln is closed, idle connections are closed, and
//     in-flight requests are given Config.ShutdownTimeout to finish (after
//     that the remaining connections are closed);
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
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
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
			break wait
		case err := <-served:
			serveErr = err
			served = nil
			break wait
		}
	}

	if served != nil {
		g.log.Info("sms gateway stopping: draining in-flight requests", "timeout", g.cfg.ShutdownTimeout)
		ctx, cancel := context.WithTimeout(context.Background(), g.cfg.ShutdownTimeout)
		if err := srv.Shutdown(ctx); err != nil {
			g.log.Warn("in-flight requests did not finish in time; closing their connections", "err", err)
			srv.Close()
		}
		cancel()
		<-served // http.ErrServerClosed
	} else {
		g.log.Error("http server failed", "err", serveErr)
		srv.Close()
	}

	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.DrainTimeout)
	defer cancel()
	if err := g.queue.Drain(ctx); err != nil {
		g.log.Warn("queue not drained in time; undelivered messages marked failed", "timeout", g.cfg.DrainTimeout)
	}
	st := g.queue.Stats()
	g.log.Info("sms gateway stopped", "sent", st.Sent, "failed", st.Failed)
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}
