package agent

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// get asks a "serve" worker for its slot and pid, on a new connection so
// that the kernel picks a worker each time.
func get(t *testing.T, addr string) (slot, pid int) {
	t.Helper()
	slot, pid, err := getOnce(addr)
	if err != nil {
		t.Fatal(err)
	}
	return slot, pid
}

func TestWorkersShareSocketWithDistinctSlots(t *testing.T) {
	cfg := testConfig(3, "serve")
	cfg.HTTPAddress = freeAddr(t)
	r := run(t, cfg)
	pids := map[int]bool{}
	for i := 0; i < 3; i++ {
		pids[waitEvent[WorkerReady](r, nil).PID] = true
	}
	slots, answered := map[int]bool{}, map[int]bool{}
	for i := 0; i < 60 && len(answered) < 2; i++ {
		slot, pid := get(t, cfg.HTTPAddress)
		if !pids[pid] {
			t.Fatalf("answer from pid %d, not a worker %v", pid, pids)
		}
		slots[slot], answered[pid] = true, true
	}
	if len(answered) < 2 {
		t.Fatalf("60 requests answered by %d worker(s); the socket is not shared", len(answered))
	}
	for s := range slots {
		if s < 0 || s > 2 {
			t.Fatalf("slot %d out of range", s)
		}
	}
	r.signals <- syscall.SIGTERM
	if code := r.wait(10 * time.Second); code != ExitClean {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	for pid := range pids {
		if !gone(pid) {
			t.Errorf("worker %d still runs after the agent stopped", pid)
		}
	}
}

func TestCrashRestartsInSameSlot(t *testing.T) {
	cfg := testConfig(2, "exit-once")
	cfg.HTTPAddress = freeAddr(t)
	cfg.Env["HELPER_DIR"] = t.TempDir()
	r := run(t, cfg)
	crashed := waitEvent(r, func(e WorkerExited) bool { return e.Cause == "crash" && e.Status.Code == 3 })
	if !crashed.Exception || !crashed.Restarting {
		t.Fatalf("crash: %+v, want an exception and a restart", crashed)
	}
	waitEvent(r, func(e WorkerStarted) bool { return e.Slot == crashed.Slot })
	// Both slots crash once (2 exceptions < max 10) and come back serving.
	ready := map[int]bool{}
	for len(ready) < 2 {
		ready[waitEvent[WorkerReady](r, nil).Slot] = true
	}
	seen := map[int]bool{}
	for i := 0; i < 80 && len(seen) < 2; i++ {
		slot, _ := get(t, cfg.HTTPAddress)
		seen[slot] = true
	}
	if !seen[0] || !seen[1] {
		t.Fatalf("slots answering after restarts: %v, want 0 and 1", seen)
	}
}

func TestExceptionLimitExits100(t *testing.T) {
	cfg := testConfig(2, "exit")
	cfg.ExceptionMax = 2
	r := run(t, cfg)
	if e := waitEvent[ExceptionLimit](r, nil); e.Count != 2 || e.Within != 10*time.Second {
		t.Fatalf("limit: %+v", e)
	}
	if code := r.wait(10 * time.Second); code != ExitExceptionLimit {
		t.Fatalf("exit code %d, want 100", code)
	}
}

func TestIgnoringSigtermIsKilledAtTimeout(t *testing.T) {
	cfg := testConfig(1, "ignore-sigterm")
	cfg.GracefulShutdown = 300 * time.Millisecond
	r := run(t, cfg)
	m := r.waitLine(`^[^|]+\|(\d+)\|INFO\|ignoring SIGTERM`)
	pid, _ := strconv.Atoi(m[1])
	r.signals <- syscall.SIGTERM
	want := WorkerKilled{Slot: 0, PID: pid, Cause: "graceful timeout", After: 300 * time.Millisecond}
	if e := waitEvent[WorkerKilled](r, nil); e != want {
		t.Fatalf("%+v, want %+v", e, want)
	}
	if code := r.wait(10 * time.Second); code != ExitClean {
		t.Fatalf("exit code %d, want 0", code)
	}
	if !gone(pid) {
		t.Fatalf("worker %d survived", pid)
	}
}

func TestSecondSignalKillsAtOnce(t *testing.T) {
	cfg := testConfig(1, "ignore-sigterm")
	cfg.GracefulShutdown = time.Hour
	r := run(t, cfg)
	r.waitLine(`ignoring SIGTERM`)
	r.signals <- syscall.SIGTERM
	if e := waitEvent[ShutdownBegan](r, nil); e.Why != "received terminated" || e.Code != ExitClean {
		t.Fatalf("%+v", e)
	}
	r.signals <- syscall.SIGINT
	if code := r.wait(10 * time.Second); code != ExitClean {
		t.Fatalf("exit code %d, want 0", code)
	}
}

func TestGrandchildDoesNotOutliveWorker(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(1, "fork-grandchild")
	cfg.HTTPAddress = freeAddr(t)
	cfg.Env["HELPER_DIR"] = dir
	cfg.GracefulShutdown = 2 * time.Second
	r := run(t, cfg)
	if e := waitEvent[WorkerReady](r, nil); e.Slot != 0 { // the grandchild was started before
		t.Fatalf("%+v", e)
	}
	b, err := os.ReadFile(dir + "/grandchild")
	if err != nil {
		t.Fatal(err)
	}
	gc, _ := strconv.Atoi(string(b))
	if gone(gc) {
		t.Fatalf("grandchild %d not running before the stop", gc)
	}
	r.signals <- syscall.SIGTERM
	if code := r.wait(10 * time.Second); code != ExitClean {
		t.Fatalf("exit code %d", code)
	}
	if !waitGone(gc, 2*time.Second) {
		syscall.Kill(gc, syscall.SIGKILL)
		t.Fatalf("grandchild %d outlived its worker", gc)
	}
}

// TestAgentKilledLeavesNoWorkers SIGKILLs an agent (the test binary playing
// one) and expects every worker gone within a second.
func TestAgentKilledLeavesNoWorkers(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=agent", "HELPER_WORKERS=3", "HELPER_ADDR="+freeAddr(t))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var pids []int
	sc := bufio.NewScanner(out)
	deadline := time.AfterFunc(15*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for len(pids) < 3 && sc.Scan() {
		if i := strings.Index(sc.Text(), ") ready"); i > 0 {
			var slot, pid int
			fmt.Sscanf(sc.Text()[strings.Index(sc.Text(), "worker "):], "worker %d (pid %d)", &slot, &pid)
			pids = append(pids, pid)
		}
	}
	if len(pids) < 3 {
		t.Fatalf("only %d workers became ready", len(pids))
	}
	go io.Copy(io.Discard, out)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	for _, pid := range pids {
		if !waitGone(pid, time.Second) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("worker %d still runs 1 s after its agent was SIGKILLed", pid)
		}
	}
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// TestCrashLoopLeaksNoDescriptors restarts crashing workers many times and
// expects the agent's descriptor count back where it was.
func TestCrashLoopLeaksNoDescriptors(t *testing.T) {
	before := openFDs(t)
	cfg := testConfig(2, "exit")
	cfg.ExceptionMax = 30
	cfg.ExceptionTime = time.Minute
	r := run(t, cfg)
	waitEvent(r, func(e ExceptionLimit) bool { return e.Count == 30 })
	if code := r.wait(20 * time.Second); code != ExitExceptionLimit {
		t.Fatalf("exit code %d", code)
	}
	// Output pumps close their pipes right after the last worker's exit.
	poll(5*time.Second, func() bool { return openFDs(t) <= before })
	if after := openFDs(t); after > before {
		t.Fatalf("%d descriptors open after 30 crashes, %d before", after, before)
	}
}

// TestOutputLinesStayWhole: two streams of a busy worker become whole,
// ordered lines with the right level, the unterminated tail included.
func TestOutputLinesStayWhole(t *testing.T) {
	cfg := testConfig(1, "spam-stdout")
	cfg.ExceptionMax = 100
	r := run(t, cfg)
	next := map[string]int{"INFO": 0, "ERROR": 0}
	re := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\|\d+\|(INFO|ERROR)\|(out|err) (\d+) x{300}$`)
	for next["INFO"] < 5000 || next["ERROR"] < 5000 {
		l := r.waitLine(`^.*\|(out|err) \d+ .*$`)[0]
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("mangled line %.120q", l)
		}
		if (m[1] == "INFO") != (m[2] == "out") {
			t.Fatalf("wrong level: %.60q", l)
		}
		n, _ := strconv.Atoi(m[3])
		if n != next[m[1]] {
			t.Fatalf("%s line %d after %d: lost or reordered", m[1], n, next[m[1]]-1)
		}
		next[m[1]]++
	}
	r.waitLine(`\|INFO\|tail-without-newline$`)
	r.signals <- syscall.SIGTERM
}

// TestNeverReadyWorkerStaysStartingAndStops: a linked worker is not ready
// until it says so, and the stop request reaches it all the same.
func TestNeverReadyWorkerStaysStartingAndStops(t *testing.T) {
	cfg := testConfig(1, "never-ready")
	r := run(t, cfg)
	r.waitLine(`up, not ready`)
	r.signals <- syscall.SIGTERM
	r.waitLine(`asked to stop`)
	if code := r.wait(10 * time.Second); code != ExitClean {
		t.Fatalf("exit code %d", code)
	}
	for more := true; more; { // the rest of the events: Run has returned
		select {
		case ev := <-r.events:
			if e, ok := ev.(WorkerReady); ok {
				t.Fatalf("a worker that never accepted was reported ready: %+v", e)
			}
		default:
			more = false
		}
	}
}
