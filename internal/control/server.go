package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// requestTimeout bounds how long a client may take to send its request.
const requestTimeout = 5 * time.Second

// Handler answers the requests of a control socket. Its methods are called
// from the connection's goroutine; ctx ends when the client goes away or
// the server closes.
type Handler interface {
	// Command runs an admin command; an error is an error reply.
	Command(ctx context.Context, command string) (string, error)
	// Shutdown starts the graceful shutdown and says what it did.
	Shutdown() string
	// Logs calls send with the log records req asks for (OpLogs), in
	// batches of formatted records, until they are sent (without Follow),
	// ctx ends or send fails.
	Logs(ctx context.Context, req Request, send func(text string) error) error
	// Info describes the agent.
	Info() Info
	// Status returns the agent's status as JSON.
	Status(ctx context.Context) (string, error)
}

// Server serves a Handler on a listener.
type Server struct {
	h       Handler
	l       net.Listener
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	pausing pausing // pause.go
}

// Serve accepts connections on l until it is closed, each served on its
// own goroutine. Stop the server with Close (after closing l, or before).
func Serve(l net.Listener, h Handler) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{h: h, l: l, ctx: ctx, cancel: cancel}
	s.pausing.changed, s.pausing.parked = make(chan struct{}), make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				if s.ctx.Err() == nil && s.acceptPaused() {
					continue
				}
				return
			}
			answered := s.pausing.begin()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer answered()
				s.serveConn(c, answered)
			}()
		}
	}()
	return s
}

// Close ends the streams and requests in progress and waits for their
// goroutines; the listener must be closed too (by its owner).
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
}

// serveConn answers c's request; answered is called once it is (or once
// it became a stream or was detached, see Pause).
func (s *Server) serveConn(c net.Conn, answered func()) {
	defer c.Close()
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := checkPeer(c); err != nil {
		writeFrame(c, Reply{Error: err.Error()})
		return
	}
	c.SetReadDeadline(time.Now().Add(requestTimeout))
	var req Request
	if err := readFrame(c, &req); err != nil {
		writeFrame(c, Reply{Error: err.Error()})
		return
	}
	c.SetReadDeadline(time.Time{})
	switch req.Op {
	case OpCommand:
		// The client closing its side cancels a command in progress.
		go func() {
			var b [1]byte
			c.Read(b[:])
			cancel()
		}()
		if uc, ok := c.(*net.UnixConn); ok {
			ctx = context.WithValue(ctx, connKey{}, uc)
		}
		ctx = context.WithValue(ctx, detachKey{}, answered)
		text, err := s.h.Command(ctx, req.Command)
		if err != nil {
			writeFrame(c, Reply{Error: err.Error()})
			return
		}
		writeFrame(c, Reply{OK: true, Text: text})
	case OpStatus:
		text, err := s.h.Status(ctx)
		if err != nil {
			writeFrame(c, Reply{Error: err.Error()})
			return
		}
		writeFrame(c, Reply{OK: true, Text: text})
	case OpShutdown:
		writeFrame(c, Reply{OK: true, Text: s.h.Shutdown()})
	case OpLogs:
		if req.Follow {
			answered() // a stream: it ends with the program
		}
		go func() {
			var b [1]byte
			c.Read(b[:])
			cancel()
		}()
		err := s.h.Logs(ctx, req, func(text string) error { return writeFrame(c, Reply{OK: true, Text: text}) })
		if err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
			writeFrame(c, Reply{Error: err.Error()})
		}
	case OpInfo:
		b, err := json.Marshal(s.h.Info())
		if err != nil {
			writeFrame(c, Reply{Error: err.Error()})
			return
		}
		writeFrame(c, Reply{OK: true, Text: string(b)})
	default:
		writeFrame(c, Reply{Error: fmt.Sprintf("unknown operation %q", req.Op)})
	}
}

// checkPeer accepts the socket's owner and root only.
func checkPeer(c net.Conn) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return nil
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if credErr != nil {
		return fmt.Errorf("control: peer credentials: %w", credErr)
	}
	if cred.Uid != 0 && int(cred.Uid) != os.Geteuid() {
		return fmt.Errorf("control: uid %d may not control this agent", cred.Uid)
	}
	return nil
}
