package tars

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// Paused is what Pause holds of a Server: its listening socket and the
// connections it was serving, each stopped between two requests. The
// files are duplicates, close-on-exec; the Server keeps its own.
type Paused struct {
	Listener *os.File
	Conns    []PausedConn
}

// PausedConn is a connection stopped between two requests, with what its
// reader had read of the next request (a partial frame), to be served on
// by Adopt.
type PausedConn struct {
	File     *os.File
	Buffered []byte
}

// Close closes the files.
func (p *Paused) Close() {
	p.Listener.Close()
	for _, c := range p.Conns {
		c.File.Close()
	}
}

// pauseState is a Server's pause: Serve waits on it instead of accepting.
type pauseState struct {
	resume   chan struct{} // closed by Resume
	parked   chan struct{} // closed once Serve saw the pause
	parkOnce sync.Once
}

// connHold is a connection's part in a pause: its reader parks between
// two frames, and Pause waits for the requests it is handling.
type connHold struct {
	mu       sync.Mutex
	paused   bool
	parked   bool
	resume   chan struct{}
	buf      []byte // read past the last whole frame, once parked
	active   int    // requests being handled, but detached ones
	detached bool   // a request of it was detached: it is not handed over
	gone     bool   // the reader ended: the connection closes
	changed  chan struct{}
	// buffered is an adopted connection's first bytes (Adopt).
	buffered []byte
}

// broadcast wakes whoever waits for a change (under mu).
func (h *connHold) broadcast() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// end records that the reader ended.
func (h *connHold) end() {
	h.mu.Lock()
	h.gone = true
	h.broadcast()
	h.mu.Unlock()
}

// requestHold is a request's part: Detach marks it.
type requestHold struct {
	sc       *serverConn
	detached bool // under sc.hold.mu
}

type detachKey struct{}

func (h *connHold) started() {
	h.mu.Lock()
	h.active++
	h.broadcast()
	h.mu.Unlock()
}

func (h *connHold) finished(rh *requestHold) {
	h.mu.Lock()
	if !rh.detached {
		h.active--
		h.broadcast()
	}
	h.mu.Unlock()
}

// Detach tells the Server that the request of ctx (a Handler's) may never
// be answered by this program: Pause does not wait for it, and its
// connection is not handed over (it closes with the program). An agent
// whose upgrade in place was asked for over AdminF detaches that request.
// It does nothing for another context.
func Detach(ctx context.Context) {
	rh, ok := ctx.Value(detachKey{}).(*requestHold)
	if !ok {
		return
	}
	h := &rh.sc.hold
	h.mu.Lock()
	defer h.mu.Unlock()
	if !rh.detached {
		rh.detached, h.detached = true, true
		h.active--
		h.broadcast()
	}
}

// armRead sets the idle deadline of the next read, unless the connection
// is paused.
func (sc *serverConn) armRead() bool {
	h := &sc.hold
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.paused {
		return false
	}
	sc.c.SetReadDeadline(time.Now().Add(sc.idle))
	return true
}

func (sc *serverConn) pausing() bool {
	h := &sc.hold
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.paused
}

// park keeps the reader, with buf read, until Resume (true) or Close
// (false).
func (sc *serverConn) park(buf []byte) bool {
	h := &sc.hold
	h.mu.Lock()
	if !h.paused {
		h.mu.Unlock()
		return true
	}
	h.buf, h.parked = append([]byte(nil), buf...), true
	h.broadcast()
	resume := h.resume
	h.mu.Unlock()
	select {
	case <-resume:
		return true
	case <-sc.s.ctx.Done():
		return false
	}
}

// pause stops the reader at its next read.
func (sc *serverConn) pause() {
	h := &sc.hold
	h.mu.Lock()
	defer h.mu.Unlock()
	h.paused, h.parked, h.resume = true, false, make(chan struct{})
	sc.c.SetReadDeadline(time.Now())
}

func (sc *serverConn) unpause() {
	h := &sc.hold
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.paused {
		h.paused, h.parked = false, false
		close(h.resume)
	}
}

// quiet waits until the reader parked and no request (but detached ones)
// is being handled; false when ctx ended first.
func (sc *serverConn) quiet(ctx context.Context) bool {
	h := &sc.hold
	for {
		h.mu.Lock()
		if h.gone {
			h.mu.Unlock()
			return false
		}
		if h.parked && h.active == 0 {
			h.mu.Unlock()
			return true
		}
		changed := h.changed
		h.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

// acceptPaused waits while the Server is paused (Serve's accept failed by
// the deadline Pause set); it reports whether it was.
func (s *Server) acceptPaused() bool {
	s.mu.Lock()
	p := s.pause
	s.mu.Unlock()
	if p == nil {
		return false
	}
	p.parkOnce.Do(func() { close(p.parked) })
	select {
	case <-p.resume:
	case <-s.ctx.Done():
	}
	return true
}

// Pause stops the server without closing its listening socket or its
// connections, for a program handing them to its successor (an agent
// upgrading in place): new connections wait in the socket's backlog,
// each connection's reader stops between two requests, and the requests
// being handled are answered. It returns once they are, or when ctx ends:
// a connection still busy then (or with a detached request, see Detach)
// is left out of Paused, to be closed with the program. The successor
// serves the listening socket with ListenOn and each connection with
// Adopt. After Pause, Resume (the hand-over did not happen) or Close.
func (s *Server) Pause(ctx context.Context) (*Paused, error) {
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil, fmt.Errorf("tars: server %w", ErrClosed)
	case s.ln == nil:
		s.mu.Unlock()
		return nil, errors.New("tars: Pause called before Listen")
	case s.pause != nil:
		s.mu.Unlock()
		return nil, errors.New("tars: server already paused")
	}
	tl, ok := s.ln.(*net.TCPListener)
	if !ok {
		s.mu.Unlock()
		return nil, fmt.Errorf("tars: listener %T cannot be handed over", s.ln)
	}
	lf, err := tl.File()
	if err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("tars: listener: %w", err)
	}
	p := &pauseState{resume: make(chan struct{}), parked: make(chan struct{})}
	s.pause = p
	serving := s.serving
	tl.SetDeadline(time.Now())
	s.mu.Unlock()
	if serving {
		// Connections accepted until Serve sees the pause are served.
		select {
		case <-p.parked:
		case <-ctx.Done():
		}
	}
	s.mu.Lock()
	conns := make([]*serverConn, 0, len(s.conns))
	for sc := range s.conns {
		sc.pause()
		conns = append(conns, sc)
	}
	s.mu.Unlock()
	paused := &Paused{Listener: lf}
	for _, sc := range conns {
		if !sc.quiet(ctx) {
			continue
		}
		sc.hold.mu.Lock()
		detached, buf := sc.hold.detached, sc.hold.buf
		sc.hold.mu.Unlock()
		tc, ok := sc.c.(*net.TCPConn)
		if detached || !ok {
			continue
		}
		f, err := tc.File()
		if err != nil {
			continue
		}
		paused.Conns = append(paused.Conns, PausedConn{File: f, Buffered: buf})
	}
	return paused, nil
}

// Resume undoes Pause: the server accepts and reads again.
func (s *Server) Resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pause
	if p == nil {
		return
	}
	s.pause = nil
	if tl, ok := s.ln.(*net.TCPListener); ok {
		tl.SetDeadline(time.Time{})
	}
	close(p.resume)
	for sc := range s.conns {
		sc.unpause()
	}
}

// Adopt serves c, a connection of this server's endpoint that a previous
// program of this process served (Pause), as an accepted one; buffered is
// what that program had read of its next request. Call it after ListenOn.
func (s *Server) Adopt(c net.Conn, buffered []byte) error {
	s.mu.Lock()
	if s.closed || s.ln == nil {
		s.mu.Unlock()
		c.Close()
		return fmt.Errorf("tars: adopting a connection: server closed or not listening")
	}
	sc := newServerConn(s, c, s.idle)
	sc.hold.buffered = buffered
	s.serveConn(sc)
	return nil
}
