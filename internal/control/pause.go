package control

import (
	"context"
	"sync"
	"time"
)

// pausing is a Server's state for Pause: the requests it is answering
// and, while paused, the accept loop's wait.
type pausing struct {
	mu      sync.Mutex
	busy    int           // connections whose request is not answered yet
	changed chan struct{} // closed and replaced when busy drops
	paused  bool
	parked  chan struct{} // closed once the accept loop saw the pause
	resume  chan struct{} // closed by Resume
}

// begin counts a connection's request as busy; the returned func ends it
// (once).
func (p *pausing) begin() func() {
	p.mu.Lock()
	p.busy++
	p.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			p.busy--
			close(p.changed)
			p.changed = make(chan struct{})
			p.mu.Unlock()
		})
	}
}

// acceptPaused waits while the server is paused (its accept failed by the
// deadline Pause set); it reports whether it was.
func (s *Server) acceptPaused() bool {
	p := &s.pausing
	p.mu.Lock()
	if !p.paused {
		p.mu.Unlock()
		return false
	}
	close(p.parked)
	p.parked = make(chan struct{}) // closed once per pause
	resume := p.resume
	p.mu.Unlock()
	select {
	case <-resume:
	case <-s.ctx.Done():
	}
	return true
}

// deadliner is a listener whose Accept takes a deadline.
type deadliner interface{ SetDeadline(time.Time) error }

// Pause stops accepting without closing the socket, for an agent handing
// it to its next program (Listener.Files): clients connecting meanwhile
// wait in the socket's backlog. It returns once the requests in progress
// are answered, or ctx ended; it returns how many were not. Log streams
// (`logs -f`) and a command detached with Detach are not waited for: they
// end with the program. Resume undoes it.
func (s *Server) Pause(ctx context.Context) (unanswered int) {
	p := &s.pausing
	p.mu.Lock()
	p.paused, p.resume = true, make(chan struct{})
	parked := p.parked
	p.mu.Unlock()
	if d, ok := s.l.(deadliner); ok && d.SetDeadline(time.Now()) == nil {
		select {
		case <-parked:
		case <-ctx.Done():
		}
	}
	for {
		p.mu.Lock()
		busy, changed := p.busy, p.changed
		p.mu.Unlock()
		if busy == 0 {
			return 0
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return busy
		}
	}
}

// Resume accepts again after Pause.
func (s *Server) Resume() {
	p := &s.pausing
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.paused {
		return
	}
	p.paused = false
	if d, ok := s.l.(deadliner); ok {
		d.SetDeadline(time.Time{})
	}
	close(p.resume)
}

// detachKey is the context key of a command's end of busy.
type detachKey struct{}

// Detach tells the server that the command of ctx (Handler.Command) may
// never be answered by this program, whose next program answers it
// (ClientConn): Pause does not wait for it.
func Detach(ctx context.Context) {
	if done, ok := ctx.Value(detachKey{}).(func()); ok {
		done()
	}
}
