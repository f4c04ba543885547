package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
)

func (p *fakeProc) killed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.signals {
		if s == syscall.SIGKILL {
			return true
		}
	}
	return false
}

// readyLinked makes p a ready linked worker.
func (fr *fakeRun) readyLinked(p *fakeProc) {
	fr.os.post(procMessage{p: p, msg: wire.Message{Kind: wire.KindHello, Body: []byte(`{"version":1}`)}})
	fr.os.post(procMessage{p: p, msg: wire.Message{Kind: wire.KindReady}})
	fr.sync()
}

// step advances the fake clock by d in heartbeat-sized steps, letting the
// run loop handle each check; beat sends a heartbeat from p at each step.
func (fr *fakeRun) step(d, by time.Duration, beat *fakeProc) {
	for t := time.Duration(0); t < d; t += by {
		fr.clock.Advance(by)
		fr.sync()
		if beat != nil {
			fr.os.post(procMessage{p: beat, msg: wire.Message{Kind: wire.KindHeartbeat}})
		}
		fr.sync()
	}
}

func startKeepaliveFake(t *testing.T, mem memoryReader) *fakeRun {
	fr := startFakeWith(t, 1, func(s *Supervisor) {
		s.cfg.KeepaliveTime = 10 * time.Second
		s.sys.memory = mem
	})
	return fr
}

func TestFakeKeepaliveKillsSilentWorker(t *testing.T) {
	fr := startKeepaliveFake(t, nil)
	p := fr.started()
	fr.readyLinked(p)
	fr.step(10*time.Second, 2*time.Second, nil)
	if p.killed() {
		t.Fatal("killed at exactly the keepalive time")
	}
	fr.step(2*time.Second, 2*time.Second, nil) // ≤ keepalive + keepalive/5
	if !p.killed() {
		t.Fatal("silent worker not killed within keepalive + keepalive/5")
	}
	fr.exit(p, -1)
	q := fr.started() // an exception: replaced in the same slot
	if q.slot != 0 {
		t.Fatalf("replacement in slot %d", q.slot)
	}
	fr.os.post(signalled{syscall.SIGTERM})
	fr.sync()
	fr.exit(q, 0)
}

func TestFakeKeepaliveSparesBeatingAndStartingWorkers(t *testing.T) {
	fr := startKeepaliveFake(t, nil)
	p := fr.started()
	fr.step(28*time.Second, 2*time.Second, nil) // starting, within --ready-timeout: never a zombie
	fr.readyLinked(p)
	fr.step(30*time.Second, 2*time.Second, p) // beating
	if p.killed() {
		t.Fatal("a worker sending heartbeats was killed")
	}
	fr.os.post(signalled{syscall.SIGTERM})
	fr.sync()
	fr.exit(p, 0)
}

func TestFakeKeepaliveSkippedOnLowMemory(t *testing.T) {
	var low atomic.Bool
	low.Store(true)
	mem := func() (uint64, uint64, error) {
		if low.Load() {
			return 100 << 20, 64 << 20, nil
		}
		return 8 << 30, 64 << 20, nil
	}
	fr := startKeepaliveFake(t, mem)
	p := fr.started()
	fr.readyLinked(p)
	fr.step(30*time.Second, 2*time.Second, nil)
	if p.killed() {
		t.Fatal("killed while memory is low")
	}
	low.Store(false)
	fr.step(2*time.Second, 2*time.Second, nil)
	if !p.killed() {
		t.Fatal("not killed once memory is back")
	}
	fr.os.post(signalled{syscall.SIGTERM})
	fr.sync()
	fr.exit(p, -1)
}

func TestProcMemory(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "proc/sys/vm"), 0o755)
	os.WriteFile(filepath.Join(root, "proc/meminfo"), []byte("MemTotal:  1000 kB\nMemAvailable:    2048 kB\n"), 0o644)
	os.WriteFile(filepath.Join(root, "proc/sys/vm/min_free_kbytes"), []byte("1500\n"), 0o644)
	avail, minFree, err := procMemory(root)()
	if err != nil || avail != 2048<<10 || minFree != 1500<<10 {
		t.Fatalf("%d %d %v", avail, minFree, err)
	}
	if low, _ := memoryLow(procMemory(root)); !low {
		t.Fatal("2048 kB < 2 × 1500 kB must be low")
	}
	if low, _ := memoryLow(procMemory(t.TempDir())); low {
		t.Fatal("an unreadable source must not count as low")
	}
	if _, _, err := procMemory("")(); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("this host's /proc: %v", err)
	}
}

// TestHungWorkerIsKilledAndReplaced: a real worker stopped with SIGSTOP
// sends no heartbeats and is replaced.
func TestHungWorkerIsKilledAndReplaced(t *testing.T) {
	cfg := testConfig(1, "hang")
	cfg.KeepaliveTime = 500 * time.Millisecond
	r := run(t, cfg)
	pid := waitEvent[WorkerReady](r, nil).PID
	hung := waitEvent[WorkerExited](r, nil)
	if hung.PID != pid || hung.Cause != "keepalive" || !hung.Exception || !hung.Restarting {
		t.Fatalf("exit of the hung worker %d: %+v", pid, hung)
	}
	r.waitLine(`worker 0 \(pid ` + strconv.Itoa(pid) + `\) sent no heartbeat for`)
	waitEvent(r, func(e WorkerStarted) bool { return e.Slot == 0 })
	if !waitGone(pid, 2*time.Second) {
		t.Fatalf("hung worker %d still there", pid)
	}
}

func TestFakeKeepaliveOff(t *testing.T) {
	fr := startFakeWith(t, 1, func(s *Supervisor) { s.cfg.KeepaliveTime = 0 })
	p := fr.started()
	fr.readyLinked(p)
	fr.step(time.Hour, 10*time.Minute, nil)
	if p.killed() {
		t.Fatal("killed with keepalive off")
	}
	fr.os.post(signalled{syscall.SIGTERM})
	fr.sync()
	fr.exit(p, 0)
}
