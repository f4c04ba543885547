package monitor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Server serves NewHandler on the agent's --metrics-address.
type Server struct {
	ln     net.Listener
	srv    *http.Server
	served chan error
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
	s := &Server{
		ln: ln,
		srv: &http.Server{
			Handler:           NewHandler(opts),
			ReadHeaderTimeout: 10 * time.Second,
			WriteTimeout:      30 * time.Second,
		},
		served: make(chan error, 1),
	}
	go func() { s.served <- s.srv.Serve(ln) }()
	return s
}

// Listener returns the listener the Server serves on.
func (s *Server) Listener() net.Listener { return s.ln }

// Addr returns the bound address (useful with port 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops serving: it waits for requests in progress until ctx ends,
// then closes their connections.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	if serr := <-s.served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
