package container

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// drainer tracks the connections of one http.Server through its ConnState
// hook and, once draining, closes the ones that stay idle for the grace.
// The table is shared by the server's connection goroutines (the hook), the
// grace timers and ServeHTTP, hence the mutex; ServeHTTP alone sequences the
// drain.
type drainer struct {
	next     http.Handler
	userHook func(net.Conn, http.ConnState)
	grace    time.Duration
	draining atomic.Bool // read by the handler without the lock

	mu       sync.Mutex
	conns    map[net.Conn]*tracked
	empty    chan struct{} // closed when draining and conns is empty; nil until asked for
	finished bool          // the drain is over: timers do nothing
}

// tracked is one connection of the table.
type tracked struct {
	state http.ConnState
	timer *time.Timer // the idle grace, while armed
	gen   uint64      // bumped at every arm and disarm: stale timers do nothing
}

// newDrainer installs the drain's handler wrapper and ConnState hook on srv.
func newDrainer(srv *http.Server, grace time.Duration) *drainer {
	next := srv.Handler
	if next == nil {
		next = http.DefaultServeMux
	}
	d := &drainer{next: next, userHook: srv.ConnState, grace: grace, conns: make(map[net.Conn]*tracked)}
	srv.Handler = d
	srv.ConnState = d.connState
	return d
}

// ServeHTTP asks for the connection to be closed after the answer when the
// drain has begun, then runs the service's handler.
func (d *drainer) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if d.draining.Load() {
		rw.Header().Set("Connection", "close")
	}
	d.next.ServeHTTP(rw, r)
}

// connState follows the connection's life. It runs on the connection's
// goroutine (on Serve's for StateNew), before the state's effects.
func (d *drainer) connState(c net.Conn, s http.ConnState) {
	d.mu.Lock()
	switch s {
	case http.StateNew:
		t := &tracked{state: s}
		d.conns[c] = t
		if d.draining.Load() {
			d.armLocked(c, t)
		}
	case http.StateActive:
		if t := d.conns[c]; t != nil {
			t.state = s
			d.disarmLocked(t)
		}
	case http.StateIdle:
		if t := d.conns[c]; t != nil {
			t.state = s
			if d.draining.Load() {
				d.armLocked(c, t)
			}
		}
	case http.StateHijacked, http.StateClosed:
		if t := d.conns[c]; t != nil {
			d.disarmLocked(t)
			delete(d.conns, c)
		}
		d.signalEmptyLocked()
	}
	d.mu.Unlock()
	if d.userHook != nil {
		d.userHook(c, s)
	}
}

// start begins the drain: from now on answers carry "Connection: close",
// and every connection that is idle or has not sent a request yet gets the
// grace.
func (d *drainer) start() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.draining.Store(true)
	for c, t := range d.conns {
		if t.state == http.StateIdle || t.state == http.StateNew {
			d.armLocked(c, t)
		}
	}
}

// drained returns a channel closed once no connection is left. Call it
// after the server stopped accepting.
func (d *drainer) drained() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.empty == nil {
		d.empty = make(chan struct{})
		d.signalEmptyLocked()
	}
	return d.empty
}

// finish stops every grace timer; the server closes what is left.
func (d *drainer) finish() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.finished = true
	for _, t := range d.conns {
		d.disarmLocked(t)
	}
}

func (d *drainer) signalEmptyLocked() {
	if d.empty == nil || len(d.conns) > 0 {
		return
	}
	select {
	case <-d.empty:
	default:
		close(d.empty)
	}
}

func (d *drainer) armLocked(c net.Conn, t *tracked) {
	d.disarmLocked(t)
	gen := t.gen
	t.timer = time.AfterFunc(d.grace, func() { d.expire(c, t, gen) })
}

func (d *drainer) disarmLocked(t *tracked) {
	t.gen++
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
}

// expire closes c when it has stayed idle (or silent since its accept) for
// the whole grace and no byte of a request is waiting in its receive
// buffer; bytes waiting mean a request is arriving, which the server reads
// next (the connection turns active), so the grace is granted again.
func (d *drainer) expire(c net.Conn, t *tracked, gen uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.finished || t.gen != gen || d.conns[c] != t {
		return
	}
	if unread(c) > 0 {
		d.armLocked(c, t)
		return
	}
	d.disarmLocked(t)
	c.Close() // the server's goroutine sees the close and reports StateClosed
}
