package tars

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// nodeStub is a fake tarsnode: keepAlive answers 0 and records the pid;
// "echo" returns its string argument after the delay in it ("50ms:x");
// "block" waits for ctx.
type nodeStub struct {
	calls    atomic.Int32
	oneway   chan string
	mu       sync.Mutex
	lastPid  int32
	contexts []map[string]string
}

func (n *nodeStub) handle(ctx context.Context, req *RequestPacket) Reply {
	n.calls.Add(1)
	n.mu.Lock()
	n.contexts = append(n.contexts, req.Context)
	n.mu.Unlock()
	switch req.SFuncName {
	case FuncKeepAlive:
		var a KeepAliveArgs
		if err := Unmarshal(req.SBuffer, &a); err != nil {
			return ErrorReply(ServerDecodeErr, "%v", err)
		}
		n.mu.Lock()
		n.lastPid = a.ServerInfo.Pid
		n.mu.Unlock()
		if req.CPacketType == PacketOneway && n.oneway != nil {
			n.oneway <- a.ServerInfo.Application
		}
		return Reply{Body: &IntResult{}}
	case "echo":
		var a NotifyArgs
		Unmarshal(req.SBuffer, &a)
		delay, text, _ := strings.Cut(a.Command, ":")
		d, _ := time.ParseDuration(delay)
		<-time.After(d) // even past the caller's timeout
		return Reply{Body: &StringResult{Ret: text}}
	case "block":
		<-ctx.Done()
		return Reply{}
	}
	return ErrorReply(ServerNoFuncErr, "no %s", req.SFuncName)
}

func startStub(t testing.TB, opts ServerOptions) (*nodeStub, *Server) {
	n := &nodeStub{}
	return n, startServer(t, NewServer(n.handle, opts))
}

func newTestClient(t testing.TB, proxy string, opts ClientOptions) *Client {
	t.Helper()
	if opts.MinBackoff == 0 {
		opts.MinBackoff = 5 * time.Millisecond
	}
	c, err := NewClient(proxy, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func echo(ctx context.Context, c *Client, delay time.Duration, text string) (string, error) {
	var res StringResult
	err := c.Invoke(ctx, "echo", &NotifyArgs{Command: delay.String() + ":" + text}, &res)
	return res.Ret, err
}

// TestClientInvoke: two-way calls, a shared connection (the server takes
// one connection only), context sent, concurrent calls matched by id.
func TestClientInvoke(t *testing.T) {
	stub, s := startStub(t, ServerOptions{MaxConns: 1})
	c := newTestClient(t, "tars.tarsnode.ServerObj@"+s.Endpoint(), ClientOptions{Context: map[string]string{"node_name": "n1"}})
	ctx := context.Background()
	var res IntResult
	res.Ret = 7
	if err := c.Invoke(ctx, FuncKeepAlive, &KeepAliveArgs{ServerInfo{"App", "Srv", 4242, ""}}, &res); err != nil || res.Ret != 0 {
		t.Fatalf("%v %+v", err, res)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := fmt.Sprint("reply ", i)
			got, err := echo(ctx, c, time.Duration(i%5)*time.Millisecond, want)
			if err != nil || got != want {
				errs <- fmt.Errorf("call %d: %q %v", i, got, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	stub.mu.Lock()
	defer stub.mu.Unlock()
	if stub.lastPid != 4242 || stub.contexts[0]["node_name"] != "n1" {
		t.Fatalf("pid %d, context %v", stub.lastPid, stub.contexts[0])
	}
}

func TestClientOneway(t *testing.T) {
	stub, s := startStub(t, ServerOptions{})
	stub.oneway = make(chan string, 1)
	c := newTestClient(t, "X@"+s.Endpoint(), ClientOptions{})
	if err := c.InvokeOneway(context.Background(), FuncKeepAlive, &KeepAliveArgs{ServerInfo{Application: "A"}}); err != nil {
		t.Fatal(err)
	}
	if app := <-stub.oneway; app != "A" {
		t.Fatal(app)
	}
	// No reply was sent: the next reply on the connection is the next call's.
	if got, err := echo(context.Background(), c, 0, "after"); err != nil || got != "after" {
		t.Fatal(got, err)
	}
}

// TestClientTimeout: a call times out without breaking the connection; the
// late reply is dropped and the next call gets its own.
func TestClientTimeout(t *testing.T) {
	_, s := startStub(t, ServerOptions{MaxConns: 1})
	c := newTestClient(t, "X@"+s.Endpoint(), ClientOptions{Timeout: 50 * time.Millisecond})
	_, err := echo(context.Background(), c, 150*time.Millisecond, "late")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v", err)
	}
	// The same (only) connection still works; the late reply is dropped.
	if got, err := echo(context.Background(), c, 0, "next"); err != nil || got != "next" {
		t.Fatal(got, err)
	}
}

func TestClientRemoteError(t *testing.T) {
	_, s := startStub(t, ServerOptions{})
	c := newTestClient(t, "X@"+s.Endpoint(), ClientOptions{})
	err := c.Invoke(context.Background(), "nosuch", &NoArgs{}, nil)
	var re *RemoteError
	if !errors.As(err, &re) || re.Code != ServerNoFuncErr || re.Func != "X.nosuch" || !strings.Contains(err.Error(), "no nosuch") {
		t.Fatalf("%v", err)
	}
	// A reply that does not decode into the result.
	var res StringResult
	if err := c.Invoke(context.Background(), FuncKeepAlive, &KeepAliveArgs{}, &res); !errors.Is(err, ErrTypeMismatch) {
		t.Fatalf("%v", err)
	}
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

// TestClientBackoffAndReconnect: a refused endpoint is not dialled again
// before its backoff; when the server comes (back), calls succeed.
func TestClientBackoffAndReconnect(t *testing.T) {
	ep := refusedEndpoint(t)
	c := newTestClient(t, "X@"+ep, ClientOptions{MinBackoff: time.Hour})
	ctx := context.Background()
	_, err := echo(ctx, c, 0, "x")
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("first call: %v", err)
	}
	_, err = echo(ctx, c, 0, "x")
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "next connection attempt in") {
		t.Fatalf("second call: %v", err)
	}

	// Short backoff: the client reconnects once a server listens there, and
	// again after that server is replaced by another one.
	c = newTestClient(t, "X@"+ep, ClientOptions{MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	if _, err := echo(ctx, c, 0, "x"); err == nil {
		t.Fatal("no server yet")
	}
	for round := range 2 {
		s := NewServer((&nodeStub{}).handle, ServerOptions{})
		if err := s.Listen(ep); err != nil {
			t.Fatal(err)
		}
		go s.Serve()
		eventually(t, func() error {
			got, err := echo(ctx, c, 0, "back")
			if err == nil && got != "back" {
				t.Fatalf("round %d: %q", round, got)
			}
			return err
		})
		s.Close()
	}
}

// eventually retries f until it succeeds, for at most 10 s.
func eventually(t testing.TB, f func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after 10 s: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestClientFailoverAndRoundRobin: a dead endpoint is skipped; live ones
// share the calls.
func TestClientFailoverAndRoundRobin(t *testing.T) {
	a, sa := startStub(t, ServerOptions{})
	b, sb := startStub(t, ServerOptions{})
	c := newTestClient(t, "X@"+refusedEndpoint(t)+":"+sa.Endpoint()+":"+sb.Endpoint(), ClientOptions{MinBackoff: time.Hour})
	for i := range 10 {
		if got, err := echo(context.Background(), c, 0, fmt.Sprint(i)); err != nil || got != fmt.Sprint(i) {
			t.Fatalf("call %d: %q %v", i, got, err)
		}
	}
	if na, nb := a.calls.Load(), b.calls.Load(); na < 3 || nb < 3 || na+nb != 10 {
		t.Fatalf("calls spread %d/%d", na, nb)
	}
}

// TestClientConnLost: a server that answers garbage breaks the connection;
// the pending call fails with ErrConnLost.
func TestClientConnLost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		ReadPacket(conn, 0)
		conn.Write([]byte{0, 0, 0, 6, 0xff, 0xff})
	}()
	defer func() { ln.Close(); <-done }()
	port := ln.Addr().(*net.TCPAddr).Port
	c := newTestClient(t, fmt.Sprintf("X@tcp -h 127.0.0.1 -p %d", port), ClientOptions{})
	if _, err := echo(context.Background(), c, 0, "x"); !errors.Is(err, ErrConnLost) || !strings.Contains(err.Error(), "undecodable reply") {
		t.Fatalf("%v", err)
	}
}

// queryStub is a fake registry: findObjectById answers the endpoints
// currently registered for an id.
type queryStub struct {
	mu    sync.Mutex
	eps   map[string][]EndpointF
	calls int
	fail  bool
}

func (q *queryStub) handle(_ context.Context, req *RequestPacket) Reply {
	if req.SFuncName != FuncFindObjectByID {
		return ErrorReply(ServerNoFuncErr, "no %s", req.SFuncName)
	}
	var a FindObjectByIDArgs
	if err := Unmarshal(req.SBuffer, &a); err != nil {
		return ErrorReply(ServerDecodeErr, "%v", err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls++
	if q.fail {
		return ErrorReply(ServerUnknownErr, "registry down")
	}
	return Reply{Body: &FindObjectByIDResult{Ret: q.eps[a.ID]}}
}

func (q *queryStub) set(id string, eps ...string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.eps[id] = nil
	for _, s := range eps {
		ep, err := ParseEndpoint(s)
		if err != nil {
			panic(err)
		}
		q.eps[id] = append(q.eps[id], ep.ToEndpointF())
	}
}

func startQuery(t testing.TB) (*queryStub, string) {
	q := &queryStub{eps: map[string][]EndpointF{}}
	s := startServer(t, NewServer(q.handle, ServerOptions{}))
	return q, ServantQuery + "@" + s.Endpoint()
}

// TestClientLocator: a bare servant name is resolved through the locator,
// the answer is cached, refreshed after RefreshInterval, and a failed
// lookup keeps the previous list.
func TestClientLocator(t *testing.T) {
	q, locator := startQuery(t)
	a, sa := startStub(t, ServerOptions{})
	b, sb := startStub(t, ServerOptions{})
	q.set(ServantNotify, sa.Endpoint())
	c := newTestClient(t, ServantNotify, ClientOptions{Locator: locator, RefreshInterval: time.Hour})
	ctx := context.Background()
	for range 3 {
		if _, err := echo(ctx, c, 0, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if q.calls != 1 || a.calls.Load() != 3 {
		t.Fatalf("%d lookups, %d calls", q.calls, a.calls.Load())
	}

	// A short refresh interval: the client follows the registry to b, and
	// keeps b when the registry fails.
	c = newTestClient(t, ServantNotify, ClientOptions{Locator: locator, RefreshInterval: time.Millisecond})
	if _, err := echo(ctx, c, 0, "x"); err != nil {
		t.Fatal(err)
	}
	q.set(ServantNotify, sb.Endpoint())
	eventually(t, func() error {
		if _, err := echo(ctx, c, 0, "x"); err != nil {
			return err
		}
		if b.calls.Load() == 0 {
			return errors.New("still on a")
		}
		return nil
	})
	q.mu.Lock()
	q.fail = true
	q.mu.Unlock()
	before := b.calls.Load()
	for range 3 {
		if _, err := echo(ctx, c, 0, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if b.calls.Load() != before+3 {
		t.Fatal("calls did not stay on b")
	}
}

func TestClientLocatorErrors(t *testing.T) {
	q, locator := startQuery(t)
	ctx := context.Background()
	c := newTestClient(t, "Unknown.Obj", ClientOptions{Locator: locator})
	if _, err := echo(ctx, c, 0, "x"); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "knows no active endpoint") {
		t.Fatalf("%v", err)
	}
	q.mu.Lock()
	q.fail = true
	q.mu.Unlock()
	c = newTestClient(t, "Other.Obj", ClientOptions{Locator: locator})
	if _, err := echo(ctx, c, 0, "x"); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "registry down") {
		t.Fatalf("%v", err)
	}
	for _, bad := range []struct{ proxy, locator string }{
		{"Bare.Obj", ""},
		{"X@tcp -p 1", ""},
		{"Bare.Obj", "Q@tcp -h"},
		{"Bare.Obj", "tars.tarsregistry.QueryObj"},
	} {
		if _, err := NewClient(bad.proxy, ClientOptions{Locator: bad.locator}); !errors.Is(err, ErrEndpoint) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// TestClientClose: Close fails the calls in flight with ErrClosed and
// every later call too.
func TestClientClose(t *testing.T) {
	stub, s := startStub(t, ServerOptions{})
	c, err := NewClient("X@"+s.Endpoint(), ClientOptions{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := echo(context.Background(), c, 0, "x"); err != nil {
		t.Fatal(err)
	}
	failed := make(chan error, 1)
	go func() { failed <- c.Invoke(context.Background(), "block", &NoArgs{}, nil) }()
	// The server has the call: it was written, so Close loses a call in
	// flight, not one still being sent (that one fails with ErrClosed
	// alone).
	eventually(t, func() error {
		if stub.calls.Load() < 2 {
			return errors.New("call not received yet")
		}
		return nil
	})
	c.Close()
	if err := <-failed; !errors.Is(err, ErrClosed) || !errors.Is(err, ErrConnLost) {
		t.Fatalf("pending call: %v", err)
	}
	if _, err := echo(context.Background(), c, 0, "x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	c.Close()
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: 100, 2: 200, 3: 400, 4: 800, 5: 1000, 60: 1000} {
		if got := backoff(n, 100, 1000); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
}
