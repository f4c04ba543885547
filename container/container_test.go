package container_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/container"
	"github.com/nodeagent/node-agent/container/containertest"
)

func TestListenSharedSocketAndReadyOnAccept(t *testing.T) {
	a := containertest.New(t)
	w := a.Worker()
	ln, err := w.Listen("tcp", "")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if a.IsReady() {
		t.Fatal("ready before the first Accept")
	}
	go http.Serve(ln, http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { rw.Write([]byte("hi")) }))
	a.WaitReady()
	resp, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
}

func TestListenErrorFromAgent(t *testing.T) {
	a := containertest.New(t)
	if _, err := a.Worker().Listen("tcp", "256.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "could not listen") {
		t.Fatalf("got %v, want the agent's error", err)
	}
}

// TestListenWithoutHTTPAddress: an agent without --http-address answers a
// Listen for "" with ErrNoAddress, and the worker's own address is then
// bound by the agent.
func TestListenWithoutHTTPAddress(t *testing.T) {
	a := containertest.New(t, containertest.Options{NoHTTPAddress: true})
	w := a.Worker()
	if _, err := w.Listen("tcp", ""); !errors.Is(err, container.ErrNoAddress) {
		t.Fatalf("Listen(\"\") = %v, want ErrNoAddress", err)
	}
	ln, err := w.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}

func TestHandleAndBuiltins(t *testing.T) {
	a := containertest.New(t, containertest.Options{WorkerID: 3})
	w := a.Worker()
	if w.WorkerID() != 3 || w.Standalone() {
		t.Fatalf("id %d standalone %v", w.WorkerID(), w.Standalone())
	}
	w.Handle("app.echo", func(d string) string { return "echo:" + d })
	if got := a.Command("app.echo", "x y"); got != "echo:x y" {
		t.Fatal(got)
	}
	if got := a.Command("nope", ""); !strings.Contains(got, `no handler for "nope"`) {
		t.Fatal(got)
	}
	if got := a.Command("tars.viewstatus", ""); !strings.Contains(got, "worker=3") {
		t.Fatal(got)
	}
	if got := a.Command("tars.setloglevel", "loud"); !strings.Contains(got, "unknown level") {
		t.Fatal(got)
	}
}

// TestHandlerErrorsAreErrors: a failing handler, an unknown command and a
// bad built-in argument answer an error on the wire, not success text.
func TestHandlerErrorsAreErrors(t *testing.T) {
	a := containertest.New(t)
	w := a.Worker()
	w.HandleFunc("app.fail", func(ctx context.Context, d string) (string, error) {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("cannot %s", d)
	})
	w.HandleFunc("app.ok", func(_ context.Context, d string) (string, error) { return "done " + d, nil })
	for _, c := range []struct{ cmd, data, text, err string }{
		{"app.ok", "x", "done x", ""},
		{"app.fail", "fly", "", "cannot fly"},
		{"nope", "", "", `no handler for "nope"`},
		{"tars.setloglevel", "loud", "", `unknown level "loud"`},
		{"tars.setloglevel", "info", "ok", ""},
	} {
		text, err := a.Call(c.cmd, c.data)
		if text != c.text || (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s %q: %q, %v; want %q, error %q", c.cmd, c.data, text, err, c.text, c.err)
		}
	}
}

func TestLoggerLevelsFollowSetLogLevel(t *testing.T) {
	a := containertest.New(t)
	log := a.Worker().Logger()
	log.Debug("one", "k", "v w")
	if a.Command("tars.setloglevel", "warn") != "ok" {
		t.Fatal("setloglevel refused")
	}
	log.Info("dropped")
	log.With("a", 1).WithGroup("g").Error("two", "b", 2)
	a.Command("tars.viewstatus", "") // a round trip: the records arrived before its reply
	logs := a.Logs()
	if len(logs) != 2 {
		t.Fatalf("got %d records: %+v", len(logs), logs)
	}
	if l := logs[0]; l.Level != "DEBUG" || l.Message != `one k="v w"` || l.File != "container_test.go" || l.Line == 0 {
		t.Fatalf("first record %+v", l)
	}
	if l := logs[1]; l.Level != "ERROR" || l.Message != "two a=1 g.b=2" {
		t.Fatalf("second record %+v", l)
	}
}

func TestStopClosesDone(t *testing.T) {
	a := containertest.New(t)
	a.Stop()
	select {
	case <-a.Worker().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after the agent's stop")
	}
}

func TestHeartbeats(t *testing.T) {
	a := containertest.New(t, containertest.Options{Heartbeat: 5 * time.Millisecond})
	deadline := time.Now().Add(5 * time.Second)
	for a.Heartbeats() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d heartbeats in 5 s", a.Heartbeats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStandalone(t *testing.T) {
	w, err := container.OpenWith(container.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if !w.Standalone() || w.WorkerID() != 0 {
		t.Fatal("not standalone")
	}
	t.Setenv("PORT", "")
	if _, err := w.Listen("tcp", ""); err != container.ErrNoAddress {
		t.Fatalf("got %v, want ErrNoAddress", err)
	}
	ln, err := w.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, ok := ln.Addr().(*net.TCPAddr); !ok {
		t.Fatal(ln.Addr())
	}
	w.Ready() // no agent: nothing to tell, must not block or fail
	if _, err := container.OpenWith(container.Options{LogLevel: "LOUD"}); err == nil {
		t.Fatal("bad level accepted")
	}
}
