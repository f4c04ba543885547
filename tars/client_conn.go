package tars

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// endpointConn is one endpoint of a Client: its connection (dialled on
// demand) and its reconnect backoff.
type endpointConn struct {
	ep Endpoint

	mu      sync.Mutex
	cn      *clientConn // nil, or the current connection (maybe broken)
	fails   int         // failed dials in a row
	retryAt time.Time   // no dial before this
	lastErr error
}

// get returns the endpoint's live connection, dialling one when there is
// none and the backoff allows. Concurrent callers wait for one dial.
func (e *endpointConn) get(ctx context.Context, c *Client) (*clientConn, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cn != nil && e.cn.usable() {
		return e.cn, nil
	}
	if e.ep.Protocol != "tcp" {
		return nil, fmt.Errorf("%s: only tcp endpoints are supported", e.ep)
	}
	if wait := time.Until(e.retryAt); wait > 0 {
		return nil, fmt.Errorf("%s: next connection attempt in %v (last: %w)", e.ep, wait.Round(time.Millisecond), e.lastErr)
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", e.ep.Address())
	if err != nil {
		e.fails++
		e.retryAt = time.Now().Add(backoff(e.fails, c.opts.MinBackoff, c.opts.MaxBackoff))
		e.lastErr = err
		return nil, fmt.Errorf("%s: %w", e.ep, err)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		nc.Close()
		return nil, fmt.Errorf("client %w", ErrClosed)
	}
	c.wg.Add(1)
	c.mu.Unlock()
	e.fails, e.lastErr = 0, nil
	e.cn = newClientConn(nc, e.ep.String(), c.opts.MaxPacketSize)
	go func() {
		defer c.wg.Done()
		e.cn.readLoop()
	}()
	return e.cn, nil
}

// close breaks the endpoint's connection, failing its calls with err.
func (e *endpointConn) close(err error) {
	e.mu.Lock()
	cn := e.cn
	e.mu.Unlock()
	if cn != nil {
		cn.fail(err)
	}
}

// clientConn is one TCP connection of a Client. A reader goroutine
// delivers replies to the calls waiting for them, by request id.
type clientConn struct {
	nc        net.Conn
	remote    string // the endpoint, for error messages
	maxPacket int

	wmu sync.Mutex // serialises request writes

	mu       sync.Mutex
	pending  map[int32]chan *ResponsePacket
	err      error // why the connection is broken; nil while it works
	draining bool  // the server announced it is closing: no new calls
}

func newClientConn(nc net.Conn, remote string, maxPacket int) *clientConn {
	return &clientConn{nc: nc, remote: remote, maxPacket: maxPacket, pending: map[int32]chan *ResponsePacket{}}
}

// writeError: writing a request failed, so it was not (completely) sent.
type writeError struct{ err error }

func (e *writeError) Error() string { return "sending the request: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

func (cn *clientConn) usable() bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.err == nil && !cn.draining
}

// roundTrip sends req and, unless oneway, waits for its reply.
func (cn *clientConn) roundTrip(ctx context.Context, req *RequestPacket, oneway bool) (*ResponsePacket, error) {
	id := req.IRequestID
	ch := make(chan *ResponsePacket, 1)
	cn.mu.Lock()
	if cn.err != nil {
		err := cn.err
		cn.mu.Unlock()
		return nil, &writeError{err}
	}
	if !oneway {
		cn.pending[id] = ch
	}
	cn.mu.Unlock()

	frame := Frame(req)
	cn.wmu.Lock()
	deadline, _ := ctx.Deadline()
	cn.nc.SetWriteDeadline(deadline)
	_, err := cn.nc.Write(frame)
	cn.wmu.Unlock()
	if err != nil {
		cn.forget(id)
		cn.fail(err) // a partly written frame leaves the stream unusable
		return nil, &writeError{err}
	}
	if oneway {
		return nil, nil
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			cn.mu.Lock()
			err := cn.err
			cn.mu.Unlock()
			return nil, fmt.Errorf("%w: %w", ErrConnLost, err)
		}
		return resp, nil
	case <-ctx.Done():
		cn.forget(id) // a late reply is dropped by the reader
		return nil, ctx.Err()
	}
}

func (cn *clientConn) forget(id int32) {
	cn.mu.Lock()
	delete(cn.pending, id)
	cn.mu.Unlock()
}

// readLoop delivers replies until the connection breaks.
func (cn *clientConn) readLoop() {
	for {
		body, err := ReadPacket(cn.nc, cn.maxPacket)
		if err != nil {
			cn.fail(err)
			return
		}
		resp, err := DecodeResponsePacket(body)
		if err != nil {
			cn.fail(fmt.Errorf("undecodable reply: %w", err))
			return
		}
		cn.mu.Lock()
		if resp.IRequestID == 0 {
			// TarsGo's "_reconnect_": the server is closing this
			// connection; finish what is pending, start nothing new.
			cn.draining = true
		}
		ch := cn.pending[resp.IRequestID]
		delete(cn.pending, resp.IRequestID)
		cn.mu.Unlock()
		if ch != nil {
			ch <- resp // buffered: never blocks
		}
	}
}

// fail marks the connection broken (the first reason wins), closes it and
// fails every pending call.
func (cn *clientConn) fail(err error) {
	if err == nil {
		err = errors.New("connection closed")
	}
	cn.mu.Lock()
	if cn.err == nil {
		cn.err = err
	}
	pending := cn.pending
	cn.pending = map[int32]chan *ResponsePacket{}
	cn.mu.Unlock()
	cn.nc.Close()
	for _, ch := range pending {
		close(ch)
	}
}
