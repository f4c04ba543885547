package sms

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// logRecorder is a slog.Handler that keeps the messages it is given.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}

func (l *logRecorder) has(prefix string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.msgs {
		if strings.HasPrefix(m, prefix) {
			return true
		}
	}
	return false
}

// served is a gateway running Serve on a loopback port.
type served struct {
	g    *Gateway
	ln   net.Listener
	url  string
	done chan struct{}
	errc chan error
	logs *logRecorder
}

func serve(t *testing.T, cfg Config, hooks Hooks) *served {
	t.Helper()
	logs := new(logRecorder)
	cfg.DataDir = t.TempDir()
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 5 * time.Millisecond
	}
	if cfg.IdleGrace == 0 {
		cfg.IdleGrace = 20 * time.Millisecond
	}
	if hooks.Sleep == nil {
		hooks.Sleep = new(sleepRecorder).Sleep
	}
	if hooks.Provider == nil {
		hooks.Provider = okProvider()
	}
	if hooks.Store == nil { // the test's own, so it can read the records after Serve
		st, err := OpenSQLite(filepath.Join(cfg.DataDir, SQLiteFile))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		hooks.Store = st
	}
	g, err := New(cfg, slog.New(logs), hooks)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &served{g: g, ln: ln, url: "http://" + ln.Addr().String(), done: make(chan struct{}), errc: make(chan error, 1), logs: logs}
	go func() { s.errc <- g.Serve(ln, s.done) }()
	return s
}

// wait returns Serve's result, failing the test if it takes too long.
func (s *served) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.errc:
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return")
		return nil
	}
}

// listenerClosed polls until the port refuses connections: Shutdown has begun.
func (s *served) waitListenerClosed(t *testing.T) {
	waitFor(t, "the listener to close", func() bool {
		c, err := net.Dial("tcp", s.ln.Addr().String())
		if err == nil {
			c.Close()
		}
		return err != nil
	})
}

func postJSON(client *http.Client, url string, body io.Reader) (*http.Response, error) {
	return client.Post(url+"/api/sms/send", jsonCT, body)
}

// TestServeDrainsInFlightRequests holds a request half-sent while the
// gateway is told to stop: the request still gets its 202, the message
// is delivered, and Serve returns nil.
func TestServeDrainsInFlightRequests(t *testing.T) {
	s := serve(t, Config{}, Hooks{})
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	body, bodyW := io.Pipe()
	type result struct {
		resp *http.Response
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := postJSON(client, s.url, body)
		res <- result{resp, err}
	}()
	io.WriteString(bodyW, `{"phone":"+4915112345678",`)
	waitFor(t, "the request to be in flight", func() bool { return s.g.Stats().HTTPInFlight == 1 })

	close(s.done)
	s.waitListenerClosed(t)
	io.WriteString(bodyW, `"content":"late but welcome"}`)
	bodyW.Close()

	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.resp.Body.Close()
	var reply SendReply
	if r.resp.StatusCode != 202 || json.NewDecoder(r.resp.Body).Decode(&reply) != nil {
		t.Fatalf("in-flight request: %d", r.resp.StatusCode)
	}
	if err := s.wait(t); err != nil {
		t.Fatalf("Serve = %v", err)
	}
	if m, _ := s.g.store.Get(context.Background(), reply.ID); m.Status != StatusSent {
		t.Fatalf("message after stop: %+v", m)
	}
}

// TestServeKeepAliveDuringDrain: a request sent on an open keep-alive
// connection after the stop began is answered, with Connection: close,
// instead of meeting a closed connection.
func TestServeKeepAliveDuringDrain(t *testing.T) {
	s := serve(t, Config{IdleGrace: 10 * time.Second}, Hooks{})
	c, err := net.Dial("tcp", s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	get := func() *http.Response {
		t.Helper()
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if r := get(); r.StatusCode != 200 || r.Close {
		t.Fatalf("before the stop: %s close=%v", r.Status, r.Close)
	}
	close(s.done)
	s.waitListenerClosed(t)
	if r := get(); r.StatusCode != 200 || !r.Close {
		t.Fatalf("during the drain: %s close=%v, want 200 with Connection: close", r.Status, r.Close)
	}
	if err := s.wait(t); err != nil {
		t.Fatal(err)
	}
}

// TestServeDrainsQueue: Serve does not return while a delivery is pending.
func TestServeDrainsQueue(t *testing.T) {
	p := newBlockingProvider()
	s := serve(t, Config{}, Hooks{Provider: p})
	resp, err := postJSON(http.DefaultClient, s.url, strings.NewReader(`{"phone":"+4915112345678","content":"hi"}`))
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("send: %v %v", resp, err)
	}
	var reply SendReply
	json.NewDecoder(resp.Body).Decode(&reply)
	resp.Body.Close()
	<-p.started

	close(s.done)
	s.waitListenerClosed(t)
	select {
	case err := <-s.errc:
		t.Fatalf("Serve returned %v with a delivery pending", err)
	default:
	}
	close(p.release)
	if err := s.wait(t); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.g.store.Get(context.Background(), reply.ID); m.Status != StatusSent {
		t.Fatalf("message: %+v", m)
	}
}

// TestServeDrainTimeout: a provider that never answers cannot hold up
// the stop for longer than DrainTimeout; its message is handed back to the
// queue, not failed.
func TestServeDrainTimeout(t *testing.T) {
	p := newBlockingProvider() // never released
	s := serve(t, Config{DrainTimeout: 10 * time.Millisecond}, Hooks{Provider: p})
	resp, err := postJSON(http.DefaultClient, s.url, strings.NewReader(`{"phone":"+4915112345678","content":"hi"}`))
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("send: %v %v", resp, err)
	}
	var reply SendReply
	json.NewDecoder(resp.Body).Decode(&reply)
	resp.Body.Close()
	<-p.started
	close(s.done)
	if err := s.wait(t); err != nil {
		t.Fatal(err)
	}
	m, _ := s.g.store.Get(context.Background(), reply.ID)
	if m.Status != StatusQueued || m.Attempts != 1 {
		t.Fatalf("message: %+v, want queued again after 1 attempt", m)
	}
	if !s.logs.has("provider calls cut short") {
		t.Fatal("the abandoned drain was not logged")
	}
}

// TestServeIgnoreShutdown: after the fault, a closed done changes nothing.
func TestServeIgnoreShutdown(t *testing.T) {
	ignored := make(chan struct{})
	s := serve(t, Config{Faults: true}, Hooks{IgnoreSignals: func() { close(ignored) }})
	resp, err := http.Post(s.url+"/debug/fault/ignore-shutdown", "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("fault: %v %v", resp, err)
	}
	resp.Body.Close()
	<-ignored

	close(s.done)
	waitFor(t, "the ignored-shutdown log", func() bool { return s.logs.has("shutdown requested but ignored") })
	resp, err = http.Get(s.url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz after ignored shutdown: %v %v", resp, err)
	}
	resp.Body.Close()

	// Only the listener going away ends it now.
	s.ln.Close()
	if err := s.wait(t); err == nil || errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve = %v, want the listener's error", err)
	}
}
