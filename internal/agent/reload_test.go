package agent

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
)

// startReady starts n linked workers and makes them ready.
func startReady(t *testing.T, n int, adjust func(*Supervisor)) (*fakeRun, []*fakeProc) {
	fr := startFakeWith(t, n, adjust)
	ps := make([]*fakeProc, n)
	for i := range ps {
		ps[i] = fr.started()
		fr.readyLinked(ps[i])
	}
	return fr, ps
}

func TestFakeRollingReload(t *testing.T) {
	fr, old := startReady(t, 2, nil)
	reply := fr.notifyAsync("agent.reload")
	n0 := fr.started()
	if n0.slot != 0 {
		t.Fatalf("first replacement in slot %d", n0.slot)
	}
	fr.hello(n0)
	fr.noStart() // one slot at a time
	if got, err := fr.notifyErr("agent.reload"); !errors.Is(err, ErrReloadInProgress) || err.Error() != "reload in progress" {
		t.Fatalf("second reload: %q, %v", got, err)
	}
	if got := fr.notify("agent.scale 3"); !strings.Contains(got, "reload is in progress") {
		t.Fatalf("scale during reload: %q", got)
	}
	if old[0].lastSent() == wire.KindStop {
		t.Fatal("the old worker was stopped before its replacement was ready")
	}
	fr.ready(n0)
	n1 := fr.started()
	if n1.slot != 1 || old[0].lastSent() != wire.KindStop || old[1].lastSent() == wire.KindStop {
		t.Fatalf("after slot 0: next in slot %d, old sent %v / %v", n1.slot, old[0].sent, old[1].sent)
	}
	fr.exit(old[0], 0) // the old worker drained: no exception, no restart
	fr.hello(n1)
	fr.ready(n1)
	got := <-reply
	if !strings.HasPrefix(got, "ok: reloaded 2 workers") {
		t.Fatalf("reload reply %q", got)
	}
	replaced := eventsOf[WorkerReplaced](fr)
	want := []WorkerReplaced{{Slot: 0, OldPID: old[0].pid, PID: n0.pid, Reason: "reload"}, {Slot: 1, OldPID: old[1].pid, PID: n1.pid, Reason: "reload"}}
	if len(replaced) != 2 || replaced[0] != want[0] || replaced[1] != want[1] {
		t.Fatalf("replaced %+v, want %+v", replaced, want)
	}
	fr.exit(old[1], 0)
	fr.noStart()
	st, _ := fr.sup.Status(context.Background())
	if st.Restarts["reload"] != 2 || st.Exceptions != 0 || len(st.Workers) != 2 || st.Workers[0].PID != n0.pid || st.Workers[1].PID != n1.pid {
		t.Fatalf("status after reload: %+v", st)
	}
	fr.stop(n0, n1)
}

func TestFakeReloadFailingReplacementKeepsOldWorker(t *testing.T) {
	fr, old := startReady(t, 2, nil)
	reply := fr.notifyAsync("agent.reload")
	n0 := fr.started()
	fr.hello(n0)
	fr.exit(n0, 2) // the new build crashes at start
	got := <-reply
	if !strings.Contains(got, "reload failed: worker 0: replacement pid") || !strings.Contains(got, "exited with code 2 before it was ready") ||
		!strings.Contains(got, "0 of 2 workers were replaced") {
		t.Fatalf("reply %q", got)
	}
	fr.noStart() // the reload stopped: slot 1 untouched, nothing restarted
	if done := eventsOf[ReloadDone](fr); len(done) != 1 || done[0].Replaced != 0 || done[0].Of != 2 || !errors.Is(done[0].Err, ErrReloadFailed) {
		t.Fatalf("reload events %+v, want one failed, 0 of 2 replaced", done)
	}
	for _, p := range old {
		if p.lastSent() == wire.KindStop || p.killed() {
			t.Fatalf("old worker %d was stopped: %v %v", p.slot, p.sent, p.signals)
		}
	}
	if st, _ := fr.sup.Status(context.Background()); st.Exceptions != 0 || st.Reloading {
		t.Fatalf("a failed replacement is not an exception: %+v", st)
	}

	// Never ready: given up at the ready timeout, killed.
	reply = fr.notifyAsync("agent.reload")
	n0 = fr.started()
	fr.hello(n0)
	fr.clock.Advance(fr.sup.readyTimeout)
	got = <-reply
	if !strings.Contains(got, "was not ready within 30s") || !n0.killed() {
		t.Fatalf("reply %q, replacement signals %v", got, n0.signals)
	}
	fr.exit(n0, -1)
	fr.noStart()
	fr.stop(old...)
}

func TestFakeReloadOfPlainWorkers(t *testing.T) {
	fr := startFakeWith(t, 2, func(s *Supervisor) { s.linked = false })
	a, b := fr.started(), fr.started()
	fr.os.post(signalled{syscall.SIGHUP})
	na, nb := fr.started(), fr.started() // ready when started: one after the other
	if na.slot != 0 || nb.slot != 1 {
		t.Fatalf("slots %d %d", na.slot, nb.slot)
	}
	fr.sync()
	for _, p := range []*fakeProc{a, b} {
		if len(p.signals) == 0 || p.signals[0] != syscall.SIGTERM {
			t.Fatalf("old plain worker got %v, want SIGTERM", p.signals)
		}
	}
	fr.exit(a, 0)
	fr.exit(b, 0)
	fr.noStart()
	fr.stop(na, nb)
}

func TestFakeShutdownDuringReload(t *testing.T) {
	fr, old := startReady(t, 2, nil)
	reply := fr.notifyAsync("agent.reload")
	n0 := fr.started()
	fr.os.post(signalled{syscall.SIGTERM})
	if got := <-reply; !strings.Contains(got, "the agent is stopping") {
		t.Fatalf("reply %q", got)
	}
	fr.sync()
	for _, p := range append(old, n0) {
		fr.exit(p, 0)
	}
	if code := <-fr.code; code != ExitClean {
		t.Fatalf("code %d", code)
	}
	fr.code <- 0
}

func TestFakeCrashDuringReplacement(t *testing.T) {
	fr, old := startReady(t, 1, nil)
	reply := fr.notifyAsync("agent.reload")
	n0 := fr.started()
	fr.exit(old[0], 1) // the old worker crashes while its replacement starts
	fr.noStart()       // the replacement fills the slot
	fr.hello(n0)
	fr.ready(n0)
	if got := <-reply; !strings.HasPrefix(got, "ok: reloaded 1 worker") {
		t.Fatalf("reply %q", got)
	}
	st, _ := fr.sup.Status(context.Background())
	if st.Exceptions != 1 || len(st.Workers) != 1 || st.Workers[0].PID != n0.pid {
		t.Fatalf("status %+v", st)
	}
	fr.stop(n0)
}

func TestFakeMemoryRestart(t *testing.T) {
	fr, ps := startReady(t, 2, func(s *Supervisor) {
		s.cfg.MaxMemoryRestart = 64 << 20
		s.policy.window.max = 10
	})
	fr.os.post(usageSampled{map[int]usage{ps[0].pid: {RSS: 50 << 20}, ps[1].pid: {RSS: 80 << 20}}})
	n1 := fr.started()
	if n1.slot != 1 {
		t.Fatalf("replacement in slot %d", n1.slot)
	}
	// A second sample over the limit while it starts does nothing more.
	fr.os.post(usageSampled{map[int]usage{ps[1].pid: {RSS: 90 << 20}}})
	fr.noStart()
	fr.hello(n1)
	fr.ready(n1)
	if ps[1].lastSent() != wire.KindStop || ps[0].lastSent() == wire.KindStop {
		t.Fatalf("stop requests: %v / %v", ps[0].sent, ps[1].sent)
	}
	fr.exit(ps[1], 0)
	fr.noStart()
	st, _ := fr.sup.Status(context.Background())
	if st.Exceptions != 1 || st.Restarts["memory"] != 1 {
		t.Fatalf("status %+v", st)
	}
	fr.stop(ps[0], n1)
}

func TestFakeMemoryRestartOfPlainWorker(t *testing.T) {
	fr := startFakeWith(t, 1, func(s *Supervisor) {
		s.linked = false
		s.cfg.MaxMemoryRestart = 64 << 20
	})
	p := fr.started()
	fr.os.post(usageSampled{map[int]usage{p.pid: {RSS: 65 << 20}}})
	fr.sync()
	if len(p.signals) != 1 || p.signals[0] != syscall.SIGTERM {
		t.Fatalf("plain worker over the limit got %v, want SIGTERM", p.signals)
	}
	fr.noStart() // stopped first: its port may not be shareable
	fr.exit(p, 0)
	q := fr.started()
	fr.stop(q)
}

func TestFakeMemoryLimitReachesExceptionLimit(t *testing.T) {
	fr, ps := startReady(t, 1, func(s *Supervisor) { s.cfg.MaxMemoryRestart = 1 << 20 })
	fr.os.post(usageSampled{map[int]usage{ps[0].pid: {RSS: 2 << 20}}})
	n := fr.started()
	fr.hello(n)
	fr.ready(n)
	fr.exit(ps[0], 0)
	fr.os.post(usageSampled{map[int]usage{n.pid: {RSS: 2 << 20}}}) // second exception: limit (2)
	fr.sync()
	if n.lastSent() != wire.KindStop {
		t.Fatalf("at the exception limit the worker got %v", n.sent)
	}
	fr.noStart()
	fr.exit(n, 0)
	if code := <-fr.code; code != ExitExceptionLimit {
		t.Fatalf("code %d", code)
	}
	fr.code <- 0
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 70<<20 + 1<<19: "70.5 MiB", 3 << 30: "3.0 GiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
	const limit = 64 << 20
	for n, want := range map[uint64]string{limit + 1<<20: "65.0 MiB", limit + 40<<10: "64.04 MiB", limit + 4096: "64.004 MiB", limit + 1: "67108865 B", limit - 1<<20: "63.0 MiB"} {
		if got := formatOver(n, limit); got != want {
			t.Errorf("formatOver(%d, 64 MiB) = %q, want %q", n, got, want)
		}
	}
}

// fakeSystemd records sd_notify messages.
type fakeSystemd struct {
	msgs     chan string
	watchdog time.Duration
}

func (f *fakeSystemd) Notify(state ...string) error {
	f.msgs <- strings.Join(state, "\n")
	return nil
}
func (f *fakeSystemd) WatchdogInterval() time.Duration { return f.watchdog }

func (f *fakeSystemd) drain() []string {
	var out []string
	for {
		select {
		case m := <-f.msgs:
			out = append(out, m)
		default:
			return out
		}
	}
}

func TestFakeSystemdNotifications(t *testing.T) {
	sd := &fakeSystemd{msgs: make(chan string, 100), watchdog: 10 * time.Second}
	fr := startFakeWith(t, 2, func(s *Supervisor) { s.sys.sd = sd })
	a, b := fr.started(), fr.started()
	fr.readyLinked(a)
	if got := sd.drain(); strings.Contains(strings.Join(got, ","), "READY=1") {
		t.Fatalf("READY before every worker is ready: %q", got)
	}
	fr.readyLinked(b)
	got := sd.drain()
	if len(got) < 2 || got[len(got)-2] != "STATUS=2/2 workers ready, 0 restarts" || got[len(got)-1] != "READY=1" {
		t.Fatalf("after the last ready: %q", got)
	}
	// Watchdog: every WATCHDOG_USEC/2, from the run loop.
	fr.clock.Advance(4999 * time.Millisecond)
	fr.sync()
	if got := sd.drain(); len(got) != 0 {
		t.Fatalf("ping before half the interval: %q", got)
	}
	fr.clock.Advance(time.Millisecond)
	fr.sync()
	fr.clock.Advance(5 * time.Second)
	fr.sync()
	if got := sd.drain(); len(got) != 2 || got[0] != "WATCHDOG=1" || got[1] != "WATCHDOG=1" {
		t.Fatalf("watchdog pings: %q", got)
	}
	// Reload: RELOADING=1 with MONOTONIC_USEC, READY=1 when done.
	fr.os.post(signalled{syscall.SIGHUP})
	na := fr.started()
	fr.readyLinked(na)
	nb := fr.started()
	fr.readyLinked(nb)
	got = sd.drain()
	joined := strings.Join(got, "|")
	if !strings.HasPrefix(got[0], "RELOADING=1\nMONOTONIC_USEC=") || !strings.HasSuffix(joined, "READY=1") || strings.Count(joined, "READY=1") != 1 {
		t.Fatalf("reload notifications: %q", got)
	}
	fr.exit(a, 0)
	fr.exit(b, 0)
	fr.os.post(signalled{syscall.SIGTERM})
	fr.sync()
	got = sd.drain()
	if len(got) == 0 || got[0] != "STOPPING=1" {
		t.Fatalf("shutdown notifications: %q", got)
	}
	fr.exit(na, 0)
	fr.exit(nb, 0)
}
