package tars

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"
)

// Server defaults.
const (
	// DefaultMaxConns bounds the connections a Server serves at once; more
	// are accepted and closed at once.
	DefaultMaxConns = 1024
	// maxInflight bounds the requests of one connection being handled at
	// once; past it the server stops reading that connection until one
	// finishes.
	maxInflight = 32
)

// Handler answers one request. Each request runs in its own goroutine, so
// a slow call does not hold up the others of the same connection. ctx is
// cancelled when the Server closes and, when the request carries a timeout
// (ITimeout, ms), once it has passed: the caller has given up by then, and
// an error reply is then sent as InvokeTimeout. The reply to a one-way request (CPacketType PacketOneway) is discarded. A
// panicking handler answers ServerUnknownErr.
type Handler func(ctx context.Context, req *RequestPacket) Reply

// Reply is a Handler's answer.
type Reply struct {
	Ret  int32  // ServerSuccess, or a Server* code
	Desc string // the result description (the error text for errors)
	// Body is the answer to a plain TARS request (iVersion 1): the return
	// value at tag 0 and the out parameters (a …Result struct); nil for a
	// void function or an error.
	Body Struct
	// Attrs is the answer to a TUP request (iVersion 2 or 3, see IsTUP):
	// the return value under the name "" (as @tars/rpc and TarsGo read it);
	// nil for none.
	Attrs *TUPAttributes
}

// ErrorReply returns a Reply carrying code and a formatted description.
func ErrorReply(code int32, format string, args ...any) Reply {
	return Reply{Ret: code, Desc: fmt.Sprintf(format, args...)}
}

// ServerOptions configure a Server. The zero value is usable.
type ServerOptions struct {
	// Allow lists the remote addresses that may connect besides the host
	// itself (loopback, or a peer using the very address it connected to).
	// Others are closed as soon as they are accepted.
	Allow AllowList
	// MaxConns bounds the connections served at once (0: DefaultMaxConns).
	MaxConns int
	// MaxPacketSize bounds a request frame (0: DefaultMaxPacketSize). A
	// larger length prefix closes the connection before the body is read.
	MaxPacketSize int
	// IdleTimeout closes a connection that sends nothing for this long
	// while no request of it is being handled, and one that stops reading
	// its replies for this long. 0: the endpoint's -t given to Listen, or
	// DefaultEndpointTimeout.
	IdleTimeout time.Duration
	// Logger receives one record per refused or broken connection (bad
	// input, not allowed, too many: WARN, with the peer as "from" and the
	// cause as "err" or "reason"), per accept failure and per handler panic
	// (ERROR), at most one record per second so a peer sending garbage in a
	// loop cannot flood it. nil discards them.
	Logger *slog.Logger
}

// Server serves TARS requests on one TCP endpoint: Listen, then Serve
// (blocking; usually in its own goroutine), then Close. Requests may use
// plain TARS (iVersion 1) or TUP (2, 3); the reply to a TUP request is a
// RequestPacket as TUP requires, to others a ResponsePacket. A request that
// cannot be framed or decoded closes its connection only (after the replies
// already owed on it are written).
type Server struct {
	handler Handler
	opts    ServerOptions
	ctx     context.Context
	cancel  context.CancelFunc
	logs    logLimiter

	mu      sync.Mutex
	ln      net.Listener
	idle    time.Duration
	conns   map[*serverConn]struct{}
	serving bool
	closed  bool
	wg      sync.WaitGroup // Serve and every connection goroutine
	// pause is set while Pause holds the server (server_handover.go).
	pause *pauseState
}

// NewServer returns a Server that answers requests with h.
func NewServer(h Handler, opts ServerOptions) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	if opts.MaxPacketSize <= 0 {
		opts.MaxPacketSize = DefaultMaxPacketSize
	}
	return &Server{handler: h, opts: opts, ctx: ctx, cancel: cancel,
		logs: logLimiter{log: opts.Logger}, conns: map[*serverConn]struct{}{}}
}

// Listen binds endpoint, an endpoint string such as
// "tcp -h 127.0.0.1 -p 10000 -t 3000" (port 0 picks a free port; see
// Addr). Only tcp is served. Its -t is the idle timeout unless
// ServerOptions.IdleTimeout is set.
func (s *Server) Listen(endpoint string) error {
	ep, err := ParseEndpoint(endpoint)
	if err != nil {
		return err
	}
	if ep.Protocol != "tcp" {
		return fmt.Errorf("tars: serve %q: only tcp endpoints are served: %w", endpoint, ErrEndpoint)
	}
	ln, err := net.Listen("tcp", ep.Address())
	if err != nil {
		return fmt.Errorf("tars: serve %q: %w", endpoint, err)
	}
	return s.listenOn(endpoint, ep, ln)
}

// ListenOn serves on ln, a listener already bound to endpoint (one a
// previous program of this process handed over, see package agent's
// upgrade in place), as Listen would after binding it. The Server owns ln.
func (s *Server) ListenOn(endpoint string, ln net.Listener) error {
	ep, err := ParseEndpoint(endpoint)
	if err != nil {
		ln.Close()
		return err
	}
	return s.listenOn(endpoint, ep, ln)
}

// Listener returns the listener of Listen or ListenOn, nil before.
func (s *Server) Listener() net.Listener {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ln
}

func (s *Server) listenOn(endpoint string, ep Endpoint, ln net.Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.ln != nil {
		ln.Close()
		if s.closed {
			return fmt.Errorf("tars: serve %q: server %w", endpoint, ErrClosed)
		}
		return fmt.Errorf("tars: serve %q: the server already listens on %s", endpoint, s.ln.Addr())
	}
	s.ln = ln
	s.idle = s.opts.IdleTimeout
	if s.idle <= 0 {
		s.idle = ep.TimeoutOrDefault()
	}
	return nil
}

// Addr returns the bound address, or nil before Listen.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Endpoint returns the bound endpoint as a TARS endpoint string
// ("tcp -h 127.0.0.1 -p 41234 -t 3000"), or "" before Listen.
func (s *Server) Endpoint() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	a := s.ln.Addr().(*net.TCPAddr)
	return Endpoint{Protocol: "tcp", Host: a.IP.String(), Port: a.Port, Timeout: s.idle}.String()
}

// Serve accepts connections until Close, then returns nil. It returns an
// error wrapping ErrClosed when called after Close, and an error when
// Listen was not called, Serve already runs, or accepting fails for good.
func (s *Server) Serve() error {
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return fmt.Errorf("tars: server %w", ErrClosed)
	case s.ln == nil:
		s.mu.Unlock()
		return errors.New("tars: Serve called before Listen")
	case s.serving:
		s.mu.Unlock()
		return errors.New("tars: Serve called twice")
	}
	s.serving = true
	s.wg.Add(1)
	ln := s.ln
	s.mu.Unlock()
	defer s.wg.Done()

	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return nil
			}
			if s.acceptPaused() {
				continue
			}
			if !retryableAccept(err) {
				return fmt.Errorf("tars: accept on %s: %w", ln.Addr(), err)
			}
			// Out of descriptors or a transient failure: wait a little, as
			// net/http does, instead of spinning.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.logs.record(slog.LevelWarn, "tars: accept failed, retrying", "addr", ln.Addr(), "err", err, "retry_in", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
				return nil
			}
			continue
		}
		delay = 0
		s.accept(c)
	}
}

func retryableAccept(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) || errors.Is(err, syscall.ECONNABORTED)
}

func (s *Server) accept(c net.Conn) {
	if !s.opts.Allow.admits(c.RemoteAddr(), c.LocalAddr()) {
		s.logs.record(slog.LevelWarn, "tars: refused a connection", "from", c.RemoteAddr(), "reason", "not on the allow list")
		c.Close()
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return
	}
	if len(s.conns) >= s.opts.MaxConns {
		s.mu.Unlock()
		s.logs.record(slog.LevelWarn, "tars: refused a connection", "from", c.RemoteAddr(), "reason", "too many connections", "max", s.opts.MaxConns)
		c.Close()
		return
	}
	s.serveConn(newServerConn(s, c, s.idle))
}

// serveConn serves sc in its own goroutine until it ends; s.mu is held,
// and released.
func (s *Server) serveConn(sc *serverConn) {
	s.conns[sc] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		sc.serve()
		s.mu.Lock()
		delete(s.conns, sc)
		s.mu.Unlock()
	}()
}

// Close stops the server: it closes the listener and every connection,
// cancels the handlers' contexts, and waits for every goroutine the server
// started (and for Serve to return). Replies not yet written are lost.
// Close is idempotent and safe from any goroutine.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		s.cancel()
		if s.ln != nil {
			s.ln.Close()
		}
		for sc := range s.conns {
			sc.c.Close()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// logLimiter logs at most one record per second, so a peer sending
// garbage in a loop cannot flood the log. A nil log discards.
type logLimiter struct {
	log  *slog.Logger
	mu   sync.Mutex
	last time.Time
}

// record logs msg with args (slog key-value pairs) at level, unless a
// record was logged less than a second ago.
func (l *logLimiter) record(level slog.Level, msg string, args ...any) {
	if l.log == nil {
		return
	}
	l.mu.Lock()
	now := time.Now()
	ok := now.Sub(l.last) >= time.Second
	if ok {
		l.last = now
	}
	l.mu.Unlock()
	if ok {
		l.log.Log(context.Background(), level, msg, args...)
	}
}
