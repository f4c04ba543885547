package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/tars"
)

// call is one request a stub received.
type call struct {
	fn   string
	at   time.Time
	args tars.Struct // decoded arguments
}

// stub is a fake tarsnode / tarsnotify built on tars.Server. keepAlive and
// reportVersion answer ret (0 unless set), reportNotifyInfo answers void.
// Every call is sent on calls. hold, when set, is waited on (or the call's
// context) before answering.
type stub struct {
	calls chan call
	mu    sync.Mutex
	ret   int32
	hold  chan struct{}
	srv   *tars.Server
}

func startStub(t testing.TB) *stub {
	t.Helper()
	s := &stub{calls: make(chan call, 1000)}
	s.srv = tars.NewServer(s.handle, tars.ServerOptions{})
	listen(t, s.srv, "tcp -h 127.0.0.1 -p 0 -t 60000")
	return s
}

func listen(t testing.TB, srv *tars.Server, ep string) {
	t.Helper()
	if err := srv.Listen(ep); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	t.Cleanup(func() {
		srv.Close()
		// ErrClosed: Close came before Serve even started.
		if err := <-served; err != nil && !errors.Is(err, tars.ErrClosed) {
			t.Error(err)
		}
	})
}

func (s *stub) setRet(r int32) {
	s.mu.Lock()
	s.ret = r
	s.mu.Unlock()
}

func (s *stub) handle(ctx context.Context, req *tars.RequestPacket) tars.Reply {
	var args tars.Struct
	switch req.SFuncName {
	case tars.FuncKeepAlive:
		args = &tars.KeepAliveArgs{}
	case tars.FuncReportVersion:
		args = &tars.ReportVersionArgs{}
	case tars.FuncReportNotifyInfo:
		args = &tars.ReportNotifyInfoArgs{}
	default:
		return tars.ErrorReply(tars.ServerNoFuncErr, "no %s", req.SFuncName)
	}
	if err := tars.Unmarshal(req.SBuffer, args); err != nil {
		return tars.ErrorReply(tars.ServerDecodeErr, "%v", err)
	}
	s.mu.Lock()
	ret, hold := s.ret, s.hold
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return tars.ErrorReply(tars.InvokeTimeout, "gave up")
		}
	}
	s.calls <- call{fn: req.SFuncName, at: time.Now(), args: args}
	if req.SFuncName == tars.FuncReportNotifyInfo {
		return tars.Reply{}
	}
	return tars.Reply{Body: &tars.IntResult{Ret: ret}}
}

// proxy returns servant@the stub's endpoint.
func (s *stub) proxy(servant string) string { return servant + "@" + s.srv.Endpoint() }

// next waits (at most 10 s) for the stub's next call.
func (s *stub) next(t testing.TB) call {
	t.Helper()
	select {
	case c := <-s.calls:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no call within 10 s")
		return call{}
	}
}

// queryStub is a fake registry answering findObjectById with one endpoint.
func startQuery(t testing.TB, answer string) string {
	t.Helper()
	ep, err := tars.ParseEndpoint(answer)
	if err != nil {
		t.Fatal(err)
	}
	srv := tars.NewServer(func(_ context.Context, req *tars.RequestPacket) tars.Reply {
		if req.SFuncName != tars.FuncFindObjectByID {
			return tars.ErrorReply(tars.ServerNoFuncErr, "no %s", req.SFuncName)
		}
		return tars.Reply{Body: &tars.FindObjectByIDResult{Ret: []tars.EndpointF{ep.ToEndpointF()}}}
	}, tars.ServerOptions{})
	listen(t, srv, "tcp -h 127.0.0.1 -p 0")
	return tars.ServantQuery + "@" + srv.Endpoint()
}

// refusedEndpoint returns an endpoint nobody listens on.
func refusedEndpoint(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return fmt.Sprintf("tcp -h 127.0.0.1 -p %d", port)
}

// logBuf collects log lines; wait returns once a line containing s exists.
type logBuf struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLog() *logBuf { return &logBuf{changed: make(chan struct{}, 1)} }

// logger is a *slog.Logger writing text records to l.
func (l *logBuf) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// Write takes one record of a slog handler.
func (l *logBuf) Write(b []byte) (int, error) {
	l.mu.Lock()
	n, err := l.buf.Write(b)
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return n, err
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuf) count(s string) int { return strings.Count(l.String(), s) }

func (l *logBuf) wait(t testing.TB, s string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(l.String(), s) {
		select {
		case <-l.changed:
		case <-deadline:
			t.Fatalf("no log line with %q in:\n%s", s, l.String())
		}
	}
}
