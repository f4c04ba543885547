package container

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Defaults of DrainOptions, used where a field is zero.
const (
	// DefaultIdleGrace is how long a connection that is idle during a drain
	// stays open for one more request.
	DefaultIdleGrace = time.Second
	// DefaultDrainTimeout bounds a whole drain.
	DefaultDrainTimeout = 5 * time.Second
)

// ErrDrainTimeout is returned by ServeHTTP when connections were still open
// when DrainOptions.Timeout expired: they were closed, requests in flight
// or not.
var ErrDrainTimeout = errors.New("container: drain timed out: the remaining connections were closed")

// DrainOptions configure the graceful stop of ServeHTTP. The zero value
// means the defaults.
type DrainOptions struct {
	// IdleGrace is how long a connection that is idle during the drain
	// (between two requests, or accepted but silent) is kept open: a
	// request arriving on it within IdleGrace is answered, with
	// "Connection: close"; after IdleGrace of silence the connection is
	// closed. It is the time a keep-alive client has to send the request it
	// may already be writing. 0 means DefaultIdleGrace.
	IdleGrace time.Duration
	// Timeout bounds the whole drain, from the stop request until the last
	// connection closed; requests still running then have their connections
	// closed and ServeHTTP returns ErrDrainTimeout. Keep it below the
	// agent's --graceful-shutdown (8 s by default), after which the worker
	// is killed. 0 means DefaultDrainTimeout.
	Timeout time.Duration
}

func (o DrainOptions) withDefaults() DrainOptions {
	if o.IdleGrace <= 0 {
		o.IdleGrace = DefaultIdleGrace
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultDrainTimeout
	}
	return o
}

// Serve is ServeHTTP(srv, ln, w.Done(), opts): it serves srv on ln until the
// agent asks the worker to stop, then drains without losing a request.
// With ln from Listen, the first Accept marks the worker ready.
func (w *Worker) Serve(srv *http.Server, ln net.Listener, opts DrainOptions) error {
	return ServeHTTP(srv, ln, w.Done(), opts)
}

// ServeHTTP serves srv on ln until done is closed, then drains so that no
// request a client sent is lost, and returns nil once every connection is
// closed:
//
//  1. Every request whose handler starts from now on is answered with
//     "Connection: close", and its connection is closed after the answer.
//  2. ln is closed. Under an agent, ln is this worker's copy of the shared
//     socket: the agent and the other workers keep theirs, so new and
//     queued connections go to them and none is refused or dropped.
//  3. Requests in flight finish. A connection that is idle, or becomes
//     idle (its answer went out before the drain began, without
//     "Connection: close"), gets IdleGrace for one more request, answered
//     as in 1; after IdleGrace of silence it is closed — never while a
//     request is arriving on it.
//  4. Once no connection is left, ServeHTTP returns nil. At Timeout, the
//     remaining ones are closed and it returns ErrDrainTimeout.
//
// http.Server.Shutdown is not used for this because it closes idle
// keep-alive connections at once, racing with the client's next request
// (the client sees a reset or EOF for a request it already sent), and
// drops requests it reads after the shutdown began.
//
// ServeHTTP installs its own Handler wrapper and ConnState hook on srv
// (srv.ConnState, if set, is still called); srv must not be started or
// reused elsewhere. HTTP/1.x connections drain as above; hijacked
// connections are the handler's business; HTTP/2 connections (TLS) are
// closed at Timeout. If srv.Serve fails before done is closed, srv is
// closed and its error returned.
func ServeHTTP(srv *http.Server, ln net.Listener, done <-chan struct{}, opts DrainOptions) error {
	opts = opts.withDefaults()
	d := newDrainer(srv, opts.IdleGrace)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		srv.Close()
		d.finish()
		return err
	case <-done:
	}

	deadline := time.NewTimer(opts.Timeout)
	defer deadline.Stop()
	d.start()
	ln.Close()
	<-served // no connection is accepted any more
	select {
	case <-d.drained():
		d.finish()
		// Nothing is left; Shutdown returns at once and runs the
		// RegisterOnShutdown hooks.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		return nil
	case <-deadline.C:
		d.finish()
		srv.Close()
		return ErrDrainTimeout
	}
}
