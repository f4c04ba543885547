package agent

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
)

// alarms records the alarms of a supervisor.
type alarms struct {
	mu  sync.Mutex
	got []string
}

// event is a subscriber (Supervisor.Subscribe) that keeps the alarms.
func (a *alarms) event(ev Event) {
	if al, ok := ev.(Alarm); ok {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.got = append(a.got, al.Message)
	}
}

func (a *alarms) count(message string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, m := range a.got {
		if m == message {
			n++
		}
	}
	return n
}

const notReadyAlarm = "[alarm] worker not ready in time, force kill worker"

func lastSignal(p *fakeProc) syscall.Signal {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.signals) == 0 {
		return 0
	}
	return p.signals[len(p.signals)-1]
}

// TestFakeStartDeadline: a linked worker that hangs before ready, on its
// first start and on its crash restart, is SIGKILLed at --ready-timeout,
// counted as an exception with an alarm, and restarted once it exited.
func TestFakeStartDeadline(t *testing.T) {
	var al alarms
	fr := startFakeWith(t, 1, func(s *Supervisor) {
		s.readyTimeout = 5 * time.Second
		s.policy.window.max = 100
		s.Subscribe(al.event)
	})
	first := fr.started()
	fr.sync() // the loop armed the deadline once the start returned
	fr.os.post(procMessage{p: first, msg: wire.Message{Kind: wire.KindHello, Body: []byte(`{"version":1}`)}})
	fr.clock.Advance(5*time.Second - time.Millisecond)
	fr.sync()
	if sig := lastSignal(first); sig != 0 {
		t.Fatalf("signalled %v before the deadline", sig)
	}
	fr.clock.Advance(time.Millisecond)
	fr.sync()
	if sig := lastSignal(first); sig != syscall.SIGKILL {
		t.Fatalf("first start at its deadline got %v, want SIGKILL", first.signals)
	}
	if al.count(notReadyAlarm) != 1 {
		t.Fatalf("after the first deadline: alarms %q", al.got)
	}
	fr.noStart() // the slot restarts once the killed worker exited
	fr.exit(first, -1)
	restart := fr.started() // first exception: restarted at once
	want := WorkerExited{Slot: 0, PID: first.pid, Status: ExitStatus{Code: -1}, Cause: "not ready in time", Starting: true,
		Exception: true, Exceptions: 1, Limit: 100, Restarting: true}
	if e := fr.exited(); e != want {
		t.Fatalf("after the first deadline: %+v, want %+v", e, want)
	}
	fr.sync() // its deadline is armed once the start returned
	fr.clock.Advance(5 * time.Second)
	fr.sync()
	if sig := lastSignal(restart); sig != syscall.SIGKILL {
		t.Fatalf("restart at its deadline got %v, want SIGKILL", restart.signals)
	}
	if al.count(notReadyAlarm) != 2 {
		t.Fatalf("after the restart's deadline: alarms %q", al.got)
	}
	fr.exit(restart, -1)
	third := fr.started() // the 100 ms pacing is long over
	if e := fr.exited(); e.PID != restart.pid || e.Cause != "not ready in time" || e.Exceptions != 2 || !e.Restarting {
		t.Fatalf("after the restart's deadline: %+v", e)
	}
	fr.sync()
	fr.os.post(procMessage{p: third, msg: wire.Message{Kind: wire.KindReady}})
	fr.clock.Advance(time.Minute) // ready in time: no deadline left
	if ready := eventsOf[WorkerReady](fr); len(ready) != 1 || ready[0].PID != third.pid {
		t.Fatalf("ready events %+v, want one of pid %d", ready, third.pid)
	}
	if sig := lastSignal(third); sig != 0 {
		t.Fatalf("a ready worker got %v", third.signals)
	}
	if st := fr.status(); st.Restarts["crash"] != 2 {
		t.Fatalf("restarts %v, want 2 crash restarts", st.Restarts)
	}
	fr.os.post(signalled{syscall.SIGTERM})
	fr.sync()
	fr.exit(third, 0)
}

// TestFakeStopBeforeDeadline: a worker asked to stop while starting is not
// killed by its ready deadline as well, nor counted.
func TestFakeStopBeforeDeadline(t *testing.T) {
	fr := startFakeWith(t, 1, func(s *Supervisor) { s.readyTimeout = 5 * time.Second })
	p := fr.started()
	fr.os.post(signalled{syscall.SIGTERM})
	fr.clock.Advance(6 * time.Second)
	fr.exit(p, 0)
	if e := fr.exited(); e.Cause != "shutdown" || e.Exception || e.Restarting {
		t.Fatalf("a worker stopped while starting: %+v, want a shutdown, no exception", e)
	}
}

// TestFakeStartFailureIsPaced: a start that fails is an exception handled
// as an event: the first retry is immediate, the next waits for the pacing,
// and the limit stops the agent; nothing recurses.
func TestFakeStartFailureIsPaced(t *testing.T) {
	var al alarms
	failing := true
	fr := startFakeWith(t, 1, func(s *Supervisor) {
		s.policy.window.max = 3
		s.Subscribe(al.event)
		start := s.sys.start
		s.sys.start = func(spec procSpec, post func(event)) (proc, error) {
			if failing {
				return nil, errors.New("exec: no such file")
			}
			return start(spec, post)
		}
	})
	failed := eventsOf[WorkerStartFailed](fr) // the start and its immediate retry
	if len(failed) != 2 || failed[0].Exceptions != 1 || !failed[0].Restarting || failed[1].Exceptions != 2 || !failed[1].Restarting {
		t.Fatalf("failed starts %+v, want 2 exceptions, each restarting", failed)
	}
	if n := al.count("[alarm] worker 0 could not be started"); n != 2 {
		t.Fatalf("alarms %q", al.got)
	}
	failing = false // read by the loop only after the next Advance
	fr.clock.Advance(100 * time.Millisecond)
	p := fr.started()
	fr.os.post(signalled{syscall.SIGTERM})
	fr.sync()
	fr.exit(p, 0)
}

func (fr *fakeRun) status() Status {
	fr.t.Helper()
	st, err := fr.sup.Status(context.Background())
	if err != nil {
		fr.t.Fatal(err)
	}
	return st
}

// TestNotReadyWorkerKilledAtDeadline: real processes. A linked worker that
// never becomes ready is killed at --ready-timeout on its first start and
// on its restart, each counted as an exception.
func TestNotReadyWorkerKilledAtDeadline(t *testing.T) {
	cfg := testConfig(1, "never-ready")
	cfg.ReadyTimeout = 300 * time.Millisecond
	r := run(t, cfg)
	var pids []int
	for i := 0; i < 2; i++ {
		k := waitEvent[WorkerKilled](r, nil)
		if k.Slot != 0 || k.Cause != causeNotReady.String() || k.After != 300*time.Millisecond {
			t.Fatalf("kill %d: %+v", i+1, k)
		}
		e := waitEvent[WorkerExited](r, nil)
		if e.PID != k.PID || e.Cause != causeNotReady.String() || !e.Exception || !e.Restarting || e.Exceptions != i+1 {
			t.Fatalf("exit %d: %+v after %+v", i+1, e, k)
		}
		if !waitGone(k.PID, 5*time.Second) {
			t.Fatalf("pid %d still runs after its ready deadline", k.PID)
		}
		pids = append(pids, k.PID)
	}
	if pids[0] == pids[1] {
		t.Fatalf("the same pid %d timed out twice", pids[0])
	}
}

// TestLinksContainer: the expectation of a hello comes from the worker
// library being in the binary, not from the module alone.
func TestLinksContainer(t *testing.T) {
	exe, _ := os.Executable()
	if !linksContainer(exe) {
		t.Fatal("the test binary calls container.Open, yet is not expected to say hello")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	if linksContainer(sh) {
		t.Fatal("sh is expected to say hello")
	}
	// The agent's own binary depends on the module but not on container.
	bin := filepath.Join(t.TempDir(), "node-agent")
	build := exec.Command("go", "build", "-o", bin, "../..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if linksContainer(bin) {
		t.Fatal("a binary of the module without package container is expected to say hello")
	}
}

// TestFileContainsAcrossChunks: a needle that straddles two read chunks is
// found.
func TestFileContainsAcrossChunks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	data := make([]byte, 3<<20)
	needle := []byte("needle\x00")
	copy(data[1<<20-3:], needle)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if ok, err := fileContains(path, needle); !ok || err != nil {
		t.Fatalf("straddling needle: %v %v", ok, err)
	}
	if ok, _ := fileContains(path, []byte("absent")); ok {
		t.Fatal("found an absent needle")
	}
}
