package monitor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Server serves NewHandler on the agent's --metrics-address.
type Server struct {
	handler http.Handler
	gather  *carryGatherer

	mu     sync.Mutex
	ln     net.Listener
	srv    *http.Server
	served chan error
	paused *os.File // the listener, while Pause holds it
}

// ListenMetrics binds addr ("host:port") and serves the metrics endpoints
// on it until Close. It fails at once when addr cannot be bound, so the
// agent can refuse to start (exit 2) with a clear message.
func ListenMetrics(addr string, opts MetricsOptions) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("monitor: metrics address %s: %w", addr, err)
	}
	return ServeMetrics(ln, opts), nil
}

// ServeMetrics serves the metrics endpoints on ln, a listener already
// bound (one a previous program of this process handed over, see package
// agent's upgrade in place), until Close. The Server owns ln.
func ServeMetrics(ln net.Listener, opts MetricsOptions) *Server {
	s := &Server{}
	s.handler, s.gather = newHandler(opts)
	s.serve(ln)
	return s
}

func (s *Server) serve(ln net.Listener) {
	s.ln, s.served = ln, make(chan error, 1)
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      30 * time.Second,
	}
	srv, served := s.srv, s.served
	go func() { served <- srv.Serve(ln) }()
}

// Listener returns the listener the Server serves on.
func (s *Server) Listener() net.Listener {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ln
}

// Addr returns the bound address (useful with port 0).
func (s *Server) Addr() net.Addr { return s.Listener().Addr() }

// Pause stops serving without closing the listening socket, for an agent
// handing it to its next program: connections not yet accepted wait in
// the socket's backlog; requests in progress are answered (until ctx
// ends: then their connections are closed); idle keep-alive connections
// are closed between two requests, where HTTP clients retry (net/http
// does so for idempotent requests on a reused connection). It returns
// the listening socket (a duplicate, close-on-exec; the Server keeps it
// for Resume). After Pause, Resume or Close.
func (s *Server) Pause(ctx context.Context) (*os.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused != nil {
		return nil, errors.New("monitor: metrics server already paused")
	}
	tl, ok := s.ln.(*net.TCPListener)
	if !ok {
		return nil, fmt.Errorf("monitor: metrics listener %T cannot be handed over", s.ln)
	}
	f, err := tl.File()
	if err != nil {
		return nil, fmt.Errorf("monitor: metrics listener: %w", err)
	}
	err = s.srv.Shutdown(ctx)
	<-s.served
	// A connection accepted just before the listener closed may have
	// been tracked only once Shutdown found none: now that Serve
	// returned, every connection is tracked; wait for them too.
	if err == nil {
		err = s.srv.Shutdown(ctx)
	}
	if err != nil {
		s.srv.Close()
	}
	s.paused = f
	return f, nil
}

// Resume serves again on the socket Pause kept.
func (s *Server) Resume() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused == nil {
		return nil
	}
	f := s.paused
	s.paused = nil
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return fmt.Errorf("monitor: metrics listener: %w", err)
	}
	s.serve(ln)
	return nil
}

// carryGo returns the Go runtime counters to carry (Carry).
func (s *Server) carryGo() []carriedFamily { return s.gather.carryGo() }

// Close stops serving: it waits for requests in progress until ctx ends,
// then closes their connections.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused != nil {
		err := s.paused.Close()
		s.paused = nil
		return err
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	if serr := <-s.served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
