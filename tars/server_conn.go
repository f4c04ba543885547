package tars

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// serverConn is one connection of a Server: a reader (serve, in the
// connection's goroutine) that splits frames and starts one goroutine per
// request, and replies written under a mutex.
type serverConn struct {
	s    *Server
	c    net.Conn
	idle time.Duration

	sem      chan struct{} // one token per request being handled
	inflight atomic.Int32
	handlers sync.WaitGroup
	wmu      sync.Mutex // serialises reply writes

	// hold is the connection's part in Pause (server_handover.go).
	hold connHold
}

func newServerConn(s *Server, c net.Conn, idle time.Duration) *serverConn {
	if idle <= 0 {
		idle = DefaultEndpointTimeout
	}
	sc := &serverConn{s: s, c: c, idle: idle, sem: make(chan struct{}, maxInflight)}
	sc.hold.changed = make(chan struct{})
	return sc
}

// serve reads requests until the peer closes, idles out or sends something
// that is not a request; then it waits for the replies still owed and
// closes the connection.
func (sc *serverConn) serve() {
	err := sc.readLoop()
	sc.hold.end()
	sc.handlers.Wait()
	sc.c.Close()
	if err != nil && sc.s.ctx.Err() == nil {
		sc.s.logs.record(slog.LevelWarn, "tars: closed a connection", "from", sc.c.RemoteAddr(), "err", err)
	}
}

// readBufSize is the initial read buffer; it grows (doubling, up to the
// frame limit) only while a frame larger than it is actually arriving.
const readBufSize = 4 << 10

func (sc *serverConn) readLoop() error {
	base := make([]byte, max(readBufSize, len(sc.hold.buffered)))
	buf := base[:copy(base, sc.hold.buffered)]
	sc.hold.buffered = nil
	for {
		// Serve every complete frame in buf.
		for {
			body, rest, err := SplitFrame(buf, sc.s.opts.MaxPacketSize)
			if err != nil {
				return err
			}
			if body == nil {
				break
			}
			req, err := DecodeRequestPacket(body) // copies what it keeps
			if err != nil {
				return fmt.Errorf("undecodable request: %w", err)
			}
			buf = rest
			if !sc.dispatch(req) {
				return nil
			}
		}
		// Move the partial frame to the front; grow when it fills the buffer.
		// (A full buffer holds an incomplete frame longer than it: SplitFrame
		// checked that the frame fits the limit, so the buffer may grow.)
		if len(buf) == len(base) {
			base = make([]byte, min(2*len(base), max(sc.s.opts.MaxPacketSize, len(base))))
		}
		buf = base[:copy(base, buf)]

		if !sc.armRead() {
			if !sc.park(buf) {
				return nil
			}
			continue
		}
		n, err := sc.c.Read(base[len(buf):])
		buf = base[:len(buf)+n]
		switch {
		case err == nil:
		case isTimeout(err) && sc.pausing():
			// Pause: the frames read so far are dispatched; wait here.
			if !sc.park(buf) {
				return nil
			}
		case isTimeout(err):
			if len(buf) == 0 && sc.inflight.Load() > 0 {
				continue // the peer is waiting for a reply, not idle
			}
			if len(buf) > 0 {
				return fmt.Errorf("no progress on a partial request (%d bytes) for %v", len(buf), sc.idle)
			}
			return nil // idle
		case errors.Is(err, io.EOF):
			if len(buf) > 0 {
				return fmt.Errorf("connection closed inside a request (%d bytes): %w", len(buf), ErrTruncated)
			}
			return nil
		default:
			return nil // reset, or closed by Close
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// dispatch starts the handler of req in its own goroutine, waiting while
// maxInflight requests of this connection are being handled. It returns
// false when the server is closing.
func (sc *serverConn) dispatch(req *RequestPacket) bool {
	select {
	case sc.sem <- struct{}{}:
	case <-sc.s.ctx.Done():
		return false
	}
	sc.inflight.Add(1)
	sc.handlers.Add(1)
	sc.hold.started()
	rh := &requestHold{sc: sc}
	go func() {
		defer func() {
			sc.inflight.Add(-1)
			<-sc.sem
			sc.hold.finished(rh)
			sc.handlers.Done()
		}()
		sc.handle(req, rh)
	}()
	return true
}

func (sc *serverConn) handle(req *RequestPacket, rh *requestHold) {
	ctx := context.WithValue(sc.s.ctx, detachKey{}, rh)
	if req.ITimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(req.ITimeout)*time.Millisecond)
		defer cancel()
	}
	rep := sc.s.call(ctx, req)
	if rep.Ret != ServerSuccess && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// The request's own timeout ended the handler (Close cancels, it
		// never expires): say so rather than relay the context's error.
		rep = ErrorReply(InvokeTimeout, "%s: no result within the request's timeout of %d ms", req.SFuncName, req.ITimeout)
	}
	if req.CPacketType == PacketOneway {
		return
	}
	frame := replyFrame(req, rep)
	sc.wmu.Lock()
	defer sc.wmu.Unlock()
	sc.c.SetWriteDeadline(time.Now().Add(sc.idle))
	if _, err := sc.c.Write(frame); err != nil {
		sc.c.Close() // a peer that does not read its replies is dropped
	}
}

// call runs the handler, turning a panic into ServerUnknownErr.
func (s *Server) call(ctx context.Context, req *RequestPacket) (rep Reply) {
	defer func() {
		if p := recover(); p != nil {
			s.logs.record(slog.LevelError, "tars: a handler panicked", "func", req.SFuncName, "panic", p)
			rep = ErrorReply(ServerUnknownErr, "%s: internal error", req.SFuncName)
		}
	}()
	return s.handler(ctx, req)
}

// replyFrame frames rep as the answer to req: a RequestPacket for TUP, a
// ResponsePacket otherwise.
func replyFrame(req *RequestPacket, rep Reply) []byte {
	if IsTUP(req.IVersion) {
		return Frame(NewTUPResponse(req, rep.Ret, rep.Desc, rep.Attrs))
	}
	var body []byte
	if rep.Body != nil {
		body = Marshal(rep.Body)
	}
	resp := NewResponse(req, rep.Ret, body)
	resp.SResultDesc = rep.Desc
	return Frame(resp)
}
