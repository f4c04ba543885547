package sms

import (
	"net/http/httptest"
	"testing"
)

// processHooks records the process actions the fault switches ask for, and
// that each came after the reply was flushed.
type processHooks struct {
	rec     *httptest.ResponseRecorder
	exits   []int
	stops   int
	ignores int
	early   bool // an action ran before the reply was complete
}

func (p *processHooks) hooks() Hooks {
	check := func() {
		if p.rec == nil || !p.rec.Flushed || p.rec.Code != 200 {
			p.early = true
		}
	}
	return Hooks{
		Exit:          func(code int) { check(); p.exits = append(p.exits, code) },
		Stop:          func() { check(); p.stops++ },
		IgnoreSignals: func() { p.ignores++ },
	}
}

func (p *processHooks) post(g *Gateway, path string) *httptest.ResponseRecorder {
	p.rec = httptest.NewRecorder()
	g.Handler().ServeHTTP(p.rec, httptest.NewRequest("POST", path, nil))
	return p.rec
}

func TestFaults(t *testing.T) {
	p := new(processHooks)
	g := newTestGateway(t, Config{Faults: true}, p.hooks())

	if rec := p.post(g, "/debug/fault/crash"); rec.Code != 200 || len(p.exits) != 1 || p.exits[0] != CrashExitCode {
		t.Fatalf("crash: %d, exits %v", rec.Code, p.exits)
	}
	if rec := p.post(g, "/debug/fault/hang"); rec.Code != 200 || p.stops != 1 {
		t.Fatalf("hang: %d, stops %d", rec.Code, p.stops)
	}
	if p.early {
		t.Fatal("a process action ran before its reply was flushed")
	}
	if rec := p.post(g, "/debug/fault/crash"); rec.Header().Get("Connection") != "close" {
		t.Fatalf("crash reply keeps the connection: %v", rec.Header())
	}

	for _, step := range []struct{ add, total int }{{2, 2}, {3, 5}} {
		rec := p.post(g, "/debug/fault/grow?mb="+itoa(step.add))
		if r := decode[FaultReply](t, rec); rec.Code != 200 || r.GrownMB != step.total {
			t.Fatalf("grow by %d: %d %+v, want %d MiB held", step.add, rec.Code, r, step.total)
		}
	}
	for _, bad := range []string{"", "0", "-1", "x", "4097"} {
		if rec := p.post(g, "/debug/fault/grow?mb="+bad); rec.Code != 400 || decode[ErrorBody](t, rec).Field != "mb" {
			t.Errorf("grow?mb=%s: %d", bad, rec.Code)
		}
	}

	if g.ignoreShutdown.Load() {
		t.Fatal("ignoring shutdown before being asked")
	}
	if rec := p.post(g, "/debug/fault/ignore-shutdown"); rec.Code != 200 || p.ignores != 1 || !g.ignoreShutdown.Load() {
		t.Fatalf("ignore-shutdown: %d, ignores %d", rec.Code, p.ignores)
	}

	if rec := p.post(g, "/debug/fault/explode"); rec.Code != 404 {
		t.Fatalf("unknown fault: %d", rec.Code)
	}
	rec := httptest.NewRecorder()
	g.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/debug/fault/crash", nil))
	if rec.Code != 405 || len(p.exits) != 2 {
		t.Fatalf("GET crash: %d, exits %v", rec.Code, p.exits)
	}
}

func TestFaultsWithoutHooks(t *testing.T) {
	g := newTestGateway(t, Config{Faults: true}, Hooks{})
	for _, f := range []string{"crash", "hang", "ignore-shutdown"} {
		rec := httptest.NewRecorder()
		g.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/debug/fault/"+f, nil))
		if rec.Code != 501 {
			t.Errorf("%s without a hook: %d, want 501", f, rec.Code)
		}
	}
	if g.ignoreShutdown.Load() {
		t.Fatal("ignore-shutdown took effect without its hook")
	}
}
