package container_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/container"
	"github.com/nodeagent/node-agent/container/wire"
)

var monitorOn = container.MonitorOptions{Enabled: true, HTTPThreshold: 400, Seppath: true}

// apiMux is a small REST API: its patterns name the interfaces.
func apiMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "missing" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	return mux
}

// request sends method path to srv and returns the status, or 0 when the
// request failed.
func request(t *testing.T, srv *httptest.Server, method, path string) int {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestMonitorHTTPCountsByPatternAndOutcome(t *testing.T) {
	a := newStatsAgent(t, monitorOn)
	srv := httptest.NewServer(a.w.MonitorHTTP(apiMux()))
	for _, rq := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/ok", 200}, {"GET", "/ok", 200}, {"GET", "/ok?x=1", 200},
		{"GET", "/items/1", 200}, {"GET", "/items/2", 200}, {"GET", "/items/missing", 404},
		{"POST", "/fail", 500}, {"POST", "/fail", 500},
		{"GET", "/no/such/path", 404}, {"DELETE", "/ok", 404},
	} {
		if got := request(t, srv, rq.method, rq.path); got != rq.want {
			t.Fatalf("%s %s: %d, want %d", rq.method, rq.path, got, rq.want)
		}
	}
	srv.Close()
	a.finish()
	want := map[string][2]uint64{
		"/ok":         {3, 0},
		"/items/{id}": {2, 1},
		"/fail":       {0, 2},
		"/":           {0, 2},
	}
	if got := a.counts(); !maps.Equal(got, want) {
		t.Fatalf("counts by interface [success, failure]:\n got %v\nwant %v", got, want)
	}
	ok := a.http["/ok"].Success
	if ok.MinMicros == 0 || ok.MinMicros > ok.MaxMicros || ok.SumMicros < ok.MaxMicros {
		t.Fatalf("latency summary of /ok: %+v", ok)
	}
}

func TestMonitorHTTPThresholdOffAndSeppathOff(t *testing.T) {
	a := newStatsAgent(t, container.MonitorOptions{Enabled: true})
	srv := httptest.NewServer(a.w.MonitorHTTP(apiMux()))
	request(t, srv, "GET", "/ok")
	request(t, srv, "POST", "/fail")
	request(t, srv, "GET", "/nope")
	srv.Close()
	a.finish()
	if got, want := a.counts(), map[string][2]uint64{"": {3, 0}}; !maps.Equal(got, want) {
		t.Fatalf("threshold and seppath off: got %v, want %v", got, want)
	}
}

func TestMonitorHTTPCapsInterfaces(t *testing.T) {
	a := newStatsAgent(t, monitorOn)
	// No ServeMux: the interface is the raw path.
	srv := httptest.NewServer(a.w.MonitorHTTP(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	const distinct = wire.MaxInterfaces + 50
	for i := range distinct {
		request(t, srv, "GET", fmt.Sprintf("/users/%d", i))
	}
	request(t, srv, "GET", "/users/0") // known: its own row
	request(t, srv, "GET", "/"+strings.Repeat("x", wire.MaxInterfaceLen))
	request(t, srv, "GET", "/bad-%ff-utf8")
	srv.Close()
	a.finish()
	got := a.counts()
	if len(got) != wire.MaxInterfaces+1 {
		t.Fatalf("%d interfaces, want %d plus %q", len(got), wire.MaxInterfaces, wire.OtherInterface)
	}
	if got["/users/0"] != [2]uint64{2, 0} {
		t.Fatalf("/users/0: %v, want 2 successes", got["/users/0"])
	}
	if other := got[wire.OtherInterface]; other != [2]uint64{50 + 2, 0} {
		t.Fatalf("%s: %v, want 52 successes (50 over the cap, a long and a non-UTF-8 path)", wire.OtherInterface, other)
	}
}

func TestMonitorHTTPPanicAndDisconnectFail(t *testing.T) {
	a := newStatsAgent(t, monitorOn)
	started := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/panic", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done() // the client gave up
	})
	srv := httptest.NewServer(a.w.MonitorHTTP(mux))
	if got := request(t, srv, "GET", "/panic"); got != 0 {
		t.Fatalf("panicking handler answered %d", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/slow", nil)
	errc := make(chan error, 1)
	go func() {
		_, err := srv.Client().Do(req)
		errc <- err
	}()
	<-started
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("cancelled request succeeded")
	}
	srv.Close() // waits for the handlers
	a.finish()
	want := map[string][2]uint64{"/panic": {0, 1}, "/slow": {0, 1}}
	if got := a.counts(); !maps.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestMonitorHTTPKeepsWriterInterfaces(t *testing.T) {
	a := newStatsAgent(t, monitorOn)
	mux := http.NewServeMux()
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush: %v", err)
		}
		if _, ok := w.(io.ReaderFrom); !ok {
			t.Error("not an io.ReaderFrom")
		}
		io.Copy(w, strings.NewReader("body"))
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		io.WriteString(c, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
		c.Close()
	})
	monitored := a.w.MonitorHTTP(mux)
	// httptest's Close does not wait for handlers of hijacked connections.
	hijackDone := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		monitored.ServeHTTP(w, r)
		if r.URL.Path == "/hijack" {
			close(hijackDone)
		}
	}))
	if got := request(t, srv, "GET", "/flush"); got != 200 {
		t.Fatalf("/flush: %d", got)
	}
	if got := request(t, srv, "GET", "/hijack"); got != 204 {
		t.Fatalf("/hijack: %d", got)
	}
	<-hijackDone
	srv.Close()
	a.finish()
	want := map[string][2]uint64{"/flush": {1, 0}, "/hijack": {1, 0}}
	if got := a.counts(); !maps.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestMonitorHTTPConcurrentExact records from many goroutines while the
// worker flushes every millisecond: batches are deltas that add up exactly.
func TestMonitorHTTPConcurrentExact(t *testing.T) {
	opts := monitorOn
	opts.Flush = time.Millisecond
	a := newStatsAgent(t, opts)
	h := a.w.MonitorHTTP(apiMux())
	const goroutines, each = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				path := "/ok"
				if (g+i)%5 == 0 {
					path = "/items/missing"
				}
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
			}
		}()
	}
	wg.Wait()
	a.finish()
	total := uint64(goroutines * each)
	got := a.counts()
	if n := got["/ok"][0] + got["/items/{id}"][1]; n != total || got["/items/{id}"][1] != total/5 {
		t.Fatalf("got %v, want %d requests, %d of them failed", got, total, total/5)
	}
	if a.statsFrm < 2 {
		t.Logf("only %d stats frames: the flush loop did not run during the test", a.statsFrm)
	}
}

func TestMonitorHTTPOffIsTheHandlerItself(t *testing.T) {
	w, err := container.OpenWith(container.Options{Monitor: monitorOn}) // standalone: nothing to send to
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	h := http.NotFoundHandler()
	if got := w.MonitorHTTP(h); fmt.Sprint(got) != fmt.Sprint(h) {
		t.Fatalf("standalone MonitorHTTP wrapped the handler: %T", got)
	}
	a := newStatsAgent(t, container.MonitorOptions{})
	if got := a.w.MonitorHTTP(h); fmt.Sprint(got) != fmt.Sprint(h) {
		t.Fatalf("MonitorHTTP with monitoring off wrapped the handler: %T", got)
	}
}

// nopWriter is a ResponseWriter that allocates nothing.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

func TestMonitorHTTPAllocatesNothing(t *testing.T) {
	a := newStatsAgent(t, monitorOn)
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	wrapped := a.w.MonitorHTTP(inner)
	req := httptest.NewRequest("GET", "/items/1", nil)
	rw := &nopWriter{h: http.Header{}}
	wrapped.ServeHTTP(rw, req) // the interface's row is created once
	if n := testing.AllocsPerRun(1000, func() { wrapped.ServeHTTP(rw, req) }); n != 0 {
		t.Fatalf("MonitorHTTP allocates %v times per request", n)
	}
}

func BenchmarkMonitorHTTP(b *testing.B) {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	w := silentWorker(b)
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"bare", inner}, {"monitored", w.MonitorHTTP(inner)}} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/items/1", nil)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				rw := &nopWriter{h: http.Header{}}
				for pb.Next() {
					bc.h.ServeHTTP(rw, req)
				}
			})
		})
	}
}
