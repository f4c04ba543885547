package container_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/container"
	"github.com/nodeagent/node-agent/container/containertest"
	"go.uber.org/goleak"
)

// waitTimeout bounds every wait of these tests.
const waitTimeout = 10 * time.Second

// sharedListeners binds one loopback socket, as the agent does, and returns
// the agent's copy and n more listeners on the same socket, each with its
// own descriptor (dup), as each worker gets one.
func sharedListeners(t *testing.T, n int) (agent net.Listener, workers []net.Listener) {
	t.Helper()
	agent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Close() })
	f, err := agent.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for range n {
		ln, err := net.FileListener(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		workers = append(workers, ln)
	}
	return agent, workers
}

// worker is one ServeHTTP running in the test's process.
type worker struct {
	name string
	done chan struct{}
	errc chan error
}

// startWorker serves h (nil: answer 200 "name") on ln with ServeHTTP. Every
// answer carries X-Worker: name.
func startWorker(name string, ln net.Listener, h http.Handler, opts container.DrainOptions) *worker {
	if h == nil {
		h = http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { io.WriteString(rw, name) })
	}
	tagged := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("X-Worker", name)
		h.ServeHTTP(rw, r)
	})
	w := &worker{name: name, done: make(chan struct{}), errc: make(chan error, 1)}
	srv := &http.Server{Handler: tagged, ReadHeaderTimeout: waitTimeout}
	go func() { w.errc <- container.ServeHTTP(srv, ln, w.done, opts) }()
	return w
}

// wait returns ServeHTTP's result.
func (w *worker) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-w.errc:
		return err
	case <-time.After(waitTimeout):
		t.Fatalf("worker %s: ServeHTTP did not return", w.name)
		return nil
	}
}

// conn is a raw HTTP/1.1 keep-alive client connection. Unlike
// http.Transport it never retries, so every lost request shows.
type conn struct {
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &conn{c: c, br: bufio.NewReader(c)}
}

// answer is one response as the client saw it.
type answer struct {
	status int
	worker string
	close  bool // Connection: close
}

// get sends one request and reads its response.
func (c *conn) get(path string) (answer, error) {
	c.c.SetDeadline(time.Now().Add(waitTimeout))
	if _, err := fmt.Fprintf(c.c, "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path); err != nil {
		return answer{}, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return answer{}, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return answer{status: resp.StatusCode, worker: resp.Header.Get("X-Worker"), close: resp.Close}, err
}

// waitEOF waits for the server to close the connection without sending
// anything more.
func (c *conn) waitEOF() error {
	c.c.SetReadDeadline(time.Now().Add(waitTimeout))
	n, err := c.br.Read(make([]byte, 1))
	if n > 0 {
		return errors.New("unexpected bytes from the server")
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	return fmt.Errorf("want EOF, got %w", err)
}

// waitRefused dials addr until it is refused: the listener closed.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		c, err := net.Dial("tcp", addr)
		if errors.Is(err, syscall.ECONNREFUSED) {
			return
		}
		if err == nil {
			c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still accepts connections", addr)
		}
		time.Sleep(time.Millisecond)
	}
}

// loadClient keeps one keep-alive connection busy: a request, its answer,
// the next request, reconnecting after each "Connection: close" or failure.
// It counts what it sees until stopped.
type loadClient struct {
	addr string
	stop chan struct{}
	done chan struct{}

	mu       sync.Mutex
	failures []error
	byWorker map[string]int
	ends     map[string]int // per worker: connections that ended with a Connection: close answer
	opened   map[string]int // per worker: connections it answered on
}

func startLoad(addr string) *loadClient {
	l := &loadClient{addr: addr, stop: make(chan struct{}), done: make(chan struct{}),
		byWorker: map[string]int{}, ends: map[string]int{}, opened: map[string]int{}}
	go l.run()
	return l
}

func (l *loadClient) run() {
	defer close(l.done)
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		c, err := net.DialTimeout("tcp", l.addr, waitTimeout)
		if err != nil {
			l.fail(err)
			time.Sleep(time.Millisecond)
			continue
		}
		cc := &conn{c: c, br: bufio.NewReader(c)}
		var on string
		for {
			select {
			case <-l.stop:
				c.Close()
				return
			default:
			}
			a, err := cc.get("/")
			if err == nil && a.status != 200 {
				err = fmt.Errorf("status %d", a.status)
			}
			if err != nil {
				l.fail(err)
				break // a new connection
			}
			l.mu.Lock()
			l.byWorker[a.worker]++
			if on == "" {
				on = a.worker
				l.opened[on]++
			}
			if a.close {
				l.ends[on]++
			}
			l.mu.Unlock()
			if a.close {
				break
			}
			time.Sleep(time.Millisecond) // pace the load a little: the machine is shared
		}
		c.Close()
	}
}

func (l *loadClient) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures = append(l.failures, err)
}

func (l *loadClient) answers(worker string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byWorker[worker]
}

func (l *loadClient) finish(t *testing.T) {
	t.Helper()
	close(l.stop)
	select {
	case <-l.done:
	case <-time.After(waitTimeout):
		t.Fatal("load client did not stop")
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestServeHTTPDrainUnderLoad is a rolling reload in miniature: worker A
// serves a pool of busy keep-alive connections on a shared socket, worker
// B starts on the same socket, A drains. No request fails, every
// connection A served ends with an answer carrying "Connection: close",
// and the clients' new connections go to B.
func TestServeHTTPDrainUnderLoad(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	agent, lns := sharedListeners(t, 2)
	addr := agent.Addr().String()
	a := startWorker("A", lns[0], nil, container.DrainOptions{})

	const clients = 8
	var load []*loadClient
	for range clients {
		load = append(load, startLoad(addr))
	}
	for _, l := range load {
		waitUntil(t, "every client to be served by A", func() bool { return l.answers("A") >= 3 })
	}

	b := startWorker("B", lns[1], nil, container.DrainOptions{})
	close(a.done)
	if err := a.wait(t); err != nil {
		t.Fatalf("A: ServeHTTP = %v", err)
	}
	for _, l := range load {
		base := l.answers("B")
		waitUntil(t, "every client to be served by B after A's drain", func() bool { return l.answers("B") >= base+3 })
	}
	for _, l := range load {
		l.finish(t)
	}
	close(b.done)
	if err := b.wait(t); err != nil {
		t.Fatalf("B: ServeHTTP = %v", err)
	}

	total := 0
	for i, l := range load {
		if len(l.failures) > 0 {
			t.Errorf("client %d: %d failed requests, first: %v", i, len(l.failures), l.failures[0])
		}
		if l.ends["A"] != l.opened["A"] {
			t.Errorf("client %d: %d connections answered by A, %d ended with Connection: close", i, l.opened["A"], l.ends["A"])
		}
		total += l.byWorker["A"] + l.byWorker["B"]
	}
	t.Logf("%d requests, none failed", total)
}

// TestServeHTTPDrainIdleConnections: connections idle when the drain
// starts are kept for the grace: a request sent in it is answered with
// "Connection: close"; the silent ones are closed cleanly (EOF), not
// before the grace.
func TestServeHTTPDrainIdleConnections(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	const grace = 300 * time.Millisecond
	w := startWorker("A", ln, nil, container.DrainOptions{IdleGrace: grace})

	var conns []*conn
	for range 4 {
		c := dial(t, addr)
		if a, err := c.get("/"); err != nil || a.close {
			t.Fatalf("before the drain: %+v %v", a, err)
		}
		conns = append(conns, c)
	}
	silentBefore := dial(t, addr) // accepted, never sends a request

	close(w.done)
	began := time.Now()
	waitRefused(t, addr)

	a, err := conns[0].get("/")
	if err != nil || a.status != 200 || !a.close {
		t.Fatalf("request in the grace: %+v %v; want 200 with Connection: close", a, err)
	}
	if err := conns[0].waitEOF(); err != nil {
		t.Fatalf("after the Connection: close answer: %v", err)
	}
	for i, c := range append(conns[1:], silentBefore) {
		if err := c.waitEOF(); err != nil {
			t.Fatalf("idle connection %d: %v", i+1, err)
		}
		if d := time.Since(began); d < grace {
			t.Fatalf("idle connection %d closed after %v, before the grace of %v", i+1, d, grace)
		}
	}
	if err := w.wait(t); err != nil {
		t.Fatalf("ServeHTTP = %v", err)
	}
}

// TestServeHTTPDrainInFlight: a slow request running when the drain starts
// finishes and is answered; ServeHTTP returns only after it.
func TestServeHTTPDrainInFlight(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
		io.WriteString(rw, "done")
	})
	w := startWorker("A", ln, h, container.DrainOptions{IdleGrace: 50 * time.Millisecond})

	slow := dial(t, addr)
	res := make(chan error, 1)
	go func() {
		a, err := slow.get("/slow")
		if err == nil && a.status != 200 {
			err = fmt.Errorf("status %d", a.status)
		}
		res <- err
	}()
	<-entered
	close(w.done)
	waitRefused(t, addr)
	select {
	case err := <-w.errc:
		t.Fatalf("ServeHTTP returned %v with a request in flight", err)
	default:
	}
	close(release)
	if err := <-res; err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	// Its answer went out keep-alive (the handler began before the
	// drain): the connection is closed after the grace.
	if err := slow.waitEOF(); err != nil {
		t.Fatal(err)
	}
	if err := w.wait(t); err != nil {
		t.Fatalf("ServeHTTP = %v", err)
	}
}

// TestServeHTTPDrainTimeout: a request that outlives Timeout has its
// connection closed and ServeHTTP reports ErrDrainTimeout.
func TestServeHTTPDrainTimeout(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	h := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done() // until the connection is closed
	})
	w := startWorker("A", ln, h, container.DrainOptions{Timeout: 100 * time.Millisecond})
	c := dial(t, ln.Addr().String())
	res := make(chan error, 1)
	go func() { _, err := c.get("/"); res <- err }()
	<-entered
	close(w.done)
	if err := w.wait(t); !errors.Is(err, container.ErrDrainTimeout) {
		t.Fatalf("ServeHTTP = %v, want ErrDrainTimeout", err)
	}
	if err := <-res; err == nil {
		t.Fatal("the request cut by the timeout was answered")
	}
}

// TestSharedListenerCloseKeepsQueuedConnections: closing one worker's copy
// of the shared socket (what the drain does) neither closes the socket for
// the others nor drops connections waiting in its accept queue: the kernel
// queue belongs to the socket, and the other copies still accept from it.
func TestSharedListenerCloseKeepsQueuedConnections(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	agent, lns := sharedListeners(t, 2)
	addr := agent.Addr().String()
	var queued []*conn
	for range 8 {
		c := dial(t, addr) // completes in the kernel; nobody accepts yet
		if _, err := io.WriteString(c.c, "GET / HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		queued = append(queued, c)
	}
	lns[0].Close() // worker A stops accepting
	b := startWorker("B", lns[1], nil, container.DrainOptions{IdleGrace: 50 * time.Millisecond})
	for i, c := range queued {
		c.c.SetDeadline(time.Now().Add(waitTimeout))
		resp, err := http.ReadResponse(c.br, nil)
		if err != nil {
			t.Fatalf("queued connection %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Worker") != "B" {
			t.Fatalf("queued connection %d: %s from %q", i, resp.Status, resp.Header.Get("X-Worker"))
		}
	}
	if c, err := net.Dial("tcp", addr); err != nil {
		t.Fatalf("the shared socket refuses after one copy closed: %v", err)
	} else {
		c.Close()
	}
	close(b.done)
	if err := b.wait(t); err != nil {
		t.Fatal(err)
	}
}

// TestServeHTTPServeError: a listener that fails before the stop ends
// ServeHTTP with the error.
func TestServeHTTPServeError(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := startWorker("A", ln, nil, container.DrainOptions{})
	waitUntil(t, "the server to accept", func() bool {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	ln.Close()
	if err := w.wait(t); err == nil {
		t.Fatal("ServeHTTP = nil after its listener failed")
	}
}

// TestWorkerServe: Worker.Serve marks the worker ready on its first Accept,
// calls the service's ConnState hook, and returns nil once the agent's
// stop request has been drained.
func TestWorkerServe(t *testing.T) {
	a := containertest.New(t)
	w := a.Worker()
	ln, err := w.Listen("tcp", "")
	if err != nil {
		t.Fatal(err)
	}
	var states atomic.Int32
	srv := &http.Server{
		Handler:   http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { io.WriteString(rw, "hi") }),
		ConnState: func(net.Conn, http.ConnState) { states.Add(1) },
	}
	errc := make(chan error, 1)
	go func() { errc <- w.Serve(srv, ln, container.DrainOptions{IdleGrace: 50 * time.Millisecond}) }()
	a.WaitReady()
	c := dial(t, ln.Addr().String())
	if r, err := c.get("/"); err != nil || r.status != 200 || r.close {
		t.Fatalf("before the stop: %+v %v", r, err)
	}
	a.Stop()
	if err := c.waitEOF(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Serve = %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Serve did not return after the stop")
	}
	if states.Load() < 3 { // new, active, idle, closed
		t.Fatalf("service ConnState hook called %d times", states.Load())
	}
}
