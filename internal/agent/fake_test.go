package agent

import (
	"context"
	"github.com/nodeagent/node-agent/internal/logs"
	"io"
	"os"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
)

// fakeClock is a clock whose time moves only by Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c    *fakeClock
	at   time.Time
	f    func()
	done bool
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.done
	t.done = true
	return was
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves time forward and fires the timers due, in order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	for _, t := range c.timers {
		if !t.done && !t.at.After(c.now) {
			t.done = true
			due = append(due, t)
		}
	}
	c.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, t := range due {
		t.f()
	}
}

// fakeProc is a process of the fake OS: it exits when the test says so.
type fakeProc struct {
	pid     int
	slot    int
	mu      sync.Mutex
	signals []syscall.Signal
	sent    []wire.Kind
	cmds    []wire.Command
}

func (p *fakeProc) PID() int { return p.pid }
func (p *fakeProc) Send(k wire.Kind, v any, files ...syscall.Conn) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, k)
	if c, ok := v.(wire.Command); ok {
		p.cmds = append(p.cmds, c)
	}
	return nil
}
func (p *fakeProc) SignalGroup(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.signals = append(p.signals, sig)
	return nil
}

// fakeOS starts fakeProcs and reports each start on a channel.
type fakeOS struct {
	started chan *fakeProc
	next    int
	post    func(event)
}

func (f *fakeOS) start(spec procSpec, post func(event)) (proc, error) {
	f.next++
	p := &fakeProc{pid: 1000 + f.next, slot: spec.Slot}
	f.started <- p
	return p, nil
}

// env is the fake operating system: its clock, its starts; every entry
// links the container library; no memory reader, sampler or systemd.
func (f *fakeOS) env(c clock) func(*Supervisor) (osEnv, error) {
	return func(*Supervisor) (osEnv, error) {
		return osEnv{clock: c, start: f.start, linkedEntry: func(string) bool { return true }}, nil
	}
}

type fakeRun struct {
	t      *testing.T
	clock  *fakeClock
	os     *fakeOS
	sup    *Supervisor
	sigs   chan os.Signal
	code   chan int
	events chan Event // the supervisor's events (subscribe)
}

func startFake(t *testing.T, n int) *fakeRun {
	t.Helper()
	return startFakeWith(t, n, nil)
}

// startFakeWith is startFake with a chance to adjust the supervisor
// before it runs.
func startFakeWith(t *testing.T, n int, adjust func(*Supervisor)) *fakeRun {
	t.Helper()
	cfg := testConfig(n, "unused")
	cfg.ExceptionMax = 2
	cfg.ExceptionTime = 10 * time.Second
	cfg.GracefulShutdown = 8 * time.Second
	sink := logs.To(logs.NewWriter(io.Discard, logs.Options{}))
	fr := &fakeRun{t: t, clock: &fakeClock{now: time.Unix(1e9, 0)}, os: &fakeOS{started: make(chan *fakeProc, 64)}, sigs: make(chan os.Signal, 2), code: make(chan int, 1)}
	sup, err := newSupervisor(cfg, &Output{App: sink, Agent: sink}, Options{}, fr.os.env(fr.clock))
	if err != nil {
		t.Fatal(err)
	}
	fr.sup = sup
	fr.events = subscribe(sup)
	fr.os.post = fr.sup.post
	if adjust != nil {
		adjust(fr.sup)
	}
	go func() { fr.code <- fr.sup.Run(context.Background(), fr.sigs) }()
	t.Cleanup(func() {
		select {
		case <-fr.code:
		case <-time.After(5 * time.Second):
			t.Error("fake supervisor did not stop")
		}
	})
	return fr
}

func (fr *fakeRun) started() *fakeProc {
	fr.t.Helper()
	select {
	case p := <-fr.os.started:
		return p
	case <-time.After(5 * time.Second):
		fr.t.Fatal("no worker started")
		return nil
	}
}

func (fr *fakeRun) noStart() {
	fr.t.Helper()
	// The run loop handles events in order: a round trip through it
	// proves every earlier event was handled.
	fr.sync()
	select {
	case p := <-fr.os.started:
		fr.t.Fatalf("unexpected start of slot %d", p.slot)
	default:
	}
}

// sync waits until the run loop handled every event posted before.
func (fr *fakeRun) sync() {
	done := make(chan struct{})
	fr.os.post(syncEvent{done})
	select {
	case <-done:
	case <-fr.sup.quit: // Run returned: nothing is pending
	case <-time.After(5 * time.Second):
		fr.t.Fatal("run loop stuck")
	}
}

func (fr *fakeRun) exit(p *fakeProc, code int) {
	fr.os.post(procExited{p: p, status: exitStatus{Code: code}})
}

// exited returns the next WorkerExited event (after sync).
func (fr *fakeRun) exited() WorkerExited {
	fr.t.Helper()
	fr.sync()
	for {
		select {
		case ev := <-fr.events:
			if e, ok := ev.(WorkerExited); ok {
				return e
			}
		default:
			fr.t.Fatal("no WorkerExited event")
			return WorkerExited{}
		}
	}
}

// eventsOf returns the events of type E the run loop emitted since the
// last read of fr.events (after sync), dropping the others.
func eventsOf[E Event](fr *fakeRun) []E {
	fr.t.Helper()
	fr.sync()
	var got []E
	for {
		select {
		case ev := <-fr.events:
			if ev == nil {
				fr.t.Fatal("events were lost")
			}
			if e, ok := ev.(E); ok {
				got = append(got, e)
			}
		default:
			return got
		}
	}
}

func TestFakeExceptionWindowCloses(t *testing.T) {
	fr := startFake(t, 1)
	p := fr.started()
	fr.exit(p, 1) // first exception: restarted at once
	want := WorkerExited{Slot: 0, PID: p.pid, Status: ExitStatus{Code: 1}, Cause: "crash", Starting: true,
		Exception: true, Exceptions: 1, Limit: 2, Restarting: true}
	if e := fr.exited(); e != want {
		t.Fatalf("first exit: %+v, want %+v", e, want)
	}
	p = fr.started()
	if p.slot != 0 {
		t.Fatalf("replacement in slot %d", p.slot)
	}
	fr.clock.Advance(11 * time.Second) // the window closes
	fr.exit(p, 1)                      // counts as a first exception again
	if e := fr.exited(); e.Exceptions != 1 || !e.Restarting {
		t.Fatalf("after the window closed: %+v", e)
	}
	p = fr.started()
	fr.exit(p, 1) // second exception within the new window: limit
	if e := fr.exited(); e.Exceptions != 2 || e.Restarting {
		t.Fatalf("at the limit: %+v", e)
	}
	fr.sync()
	select {
	case code := <-fr.code:
		if code != ExitExceptionLimit {
			t.Fatalf("code %d", code)
		}
		fr.code <- code
	case <-time.After(5 * time.Second):
		t.Fatal("agent did not exit at the exception limit")
	}
}

func TestFakeRestartPacing(t *testing.T) {
	fr := startFake(t, 1)
	fr.sup.policy.window.max = 100
	p := fr.started()
	fr.exit(p, 1)
	p = fr.started() // the first restart is immediate
	fr.exit(p, 1)
	fr.noStart() // the second waits for 100 ms after the last start
	fr.clock.Advance(99 * time.Millisecond)
	fr.noStart()
	fr.clock.Advance(time.Millisecond)
	p = fr.started()
	fr.os.post(signalled{syscall.SIGTERM}) // in order with sync, unlike the signal channel
	fr.sync()
	fr.exit(p, 0)
}

func TestFakeShutdownEscalates(t *testing.T) {
	fr := startFake(t, 2)
	a, b := fr.started(), fr.started()
	fr.os.post(procMessage{p: a, msg: wire.Message{Kind: wire.KindHello, Body: []byte(`{"version":1}`)}})
	fr.os.post(signalled{syscall.SIGTERM}) // in order with sync, unlike the signal channel
	fr.sync()
	if len(a.sent) != 1 || a.sent[0] != wire.KindStop {
		t.Fatalf("linked worker got %v, want a stop message", a.sent)
	}
	if len(b.signals) != 1 || b.signals[0] != syscall.SIGTERM {
		t.Fatalf("plain worker got %v, want SIGTERM to its group", b.signals)
	}
	fr.exit(a, 0)
	fr.clock.Advance(8 * time.Second) // b ignores the request
	fr.sync()
	if got := b.signals[len(b.signals)-1]; got != syscall.SIGKILL {
		t.Fatalf("after the graceful time b got %v, want SIGKILL", b.signals)
	}
	fr.exit(b, -1)
	if code := <-fr.code; code != ExitClean {
		t.Fatalf("code %d", code)
	}
	fr.code <- 0
}

func TestExceptionWindow(t *testing.T) {
	t0 := time.Unix(0, 0)
	w := exceptionWindow{max: 3, span: 10 * time.Second}
	steps := []struct {
		at    time.Duration
		count int
		limit bool
	}{
		{0, 1, false}, {5 * time.Second, 2, false}, {10 * time.Second, 1, false},
		{11 * time.Second, 2, false}, {19 * time.Second, 3, true},
	}
	for _, s := range steps {
		n, limit := w.record(t0.Add(s.at))
		if n != s.count || limit != s.limit {
			t.Fatalf("at %v: %d %v, want %d %v", s.at, n, limit, s.count, s.limit)
		}
	}
	zero := exceptionWindow{max: 0, span: time.Second}
	if _, limit := zero.record(t0); !limit {
		t.Fatal("exception-max 0 must make the first exception fatal")
	}
}

func TestFakeUsr1KeepsWorkers(t *testing.T) {
	fr := startFake(t, 1)
	p := fr.started()
	fr.os.post(signalled{syscall.SIGUSR1})
	fr.sync()
	if len(p.signals) != 0 || len(p.sent) != 0 {
		t.Fatalf("worker got %v / %v on SIGUSR1", p.signals, p.sent)
	}
	fr.os.post(signalled{syscall.SIGTERM})
	fr.sync()
	fr.exit(p, 0)
}
