package sms

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLimiterSlidingWindow(t *testing.T) {
	clock := newFakeClock()
	l, err := NewLimiter(t.TempDir(), 3, time.Minute, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	allow := func() (time.Duration, bool) {
		t.Helper()
		_, wait, ok, err := l.Allow("4915112345678")
		if err != nil {
			t.Fatal(err)
		}
		return wait, ok
	}
	for i := range 3 {
		if _, ok := allow(); !ok {
			t.Fatalf("message %d refused", i+1)
		}
		clock.Advance(10 * time.Second) // sent at 0s, 10s, 20s
	}
	// Now 30s: the first message leaves the window at 60s.
	if wait, ok := allow(); ok || wait != 30*time.Second {
		t.Fatalf("4th: ok=%v wait=%v; want refused, wait 30s", ok, wait)
	}
	clock.Advance(30 * time.Second)
	// At 60s the first message has left: the window is (now-1m, now].
	if wait, ok := allow(); !ok {
		t.Fatalf("at 60s: refused with wait %v", wait)
	}
	// 0s left; 10s, 20s, 60s inside: next free at 70s.
	if wait, ok := allow(); ok || wait != 10*time.Second {
		t.Fatalf("at 60s: ok=%v wait=%v; want refused, wait 10s", ok, wait)
	}
	// Another phone has its own budget.
	if _, _, ok, _ := l.Allow("4915100000000"); !ok {
		t.Fatal("other phone refused")
	}
}

func TestLimiterRefund(t *testing.T) {
	clock := newFakeClock()
	l, err := NewLimiter(t.TempDir(), 1, time.Minute, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	g, _, ok, err := l.Allow("12345678")
	if !ok || err != nil {
		t.Fatalf("first: %v %v", ok, err)
	}
	if _, _, ok, _ := l.Allow("12345678"); ok {
		t.Fatal("second allowed over a limit of 1")
	}
	if err := l.Refund(g); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := l.Allow("12345678"); !ok {
		t.Fatal("refused after refund")
	}
}

func TestLimiterIgnoresDamagedFile(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	recent := clock.Now().Add(-time.Second).UnixNano()
	data := "garbage\n" + itoa(recent) + "\n12\x00"
	if err := os.WriteFile(filepath.Join(dir, "12345678"), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	l, _ := NewLimiter(dir, 2, time.Minute, clock.Now)
	if _, _, ok, _ := l.Allow("12345678"); !ok {
		t.Fatal("second message refused")
	}
	if _, _, ok, _ := l.Allow("12345678"); ok {
		t.Fatal("the recent timestamp of the damaged file was not counted")
	}
}

// TestLimiterConcurrentInstances runs many goroutines, each with its own
// Limiter and so its own open file descriptions: flock must serialise them.
func TestLimiterConcurrentInstances(t *testing.T) {
	dir := t.TempDir()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		allowed int
	)
	start := make(chan struct{})
	for range 16 {
		l, err := NewLimiter(dir, 3, time.Minute, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range 4 {
				_, _, ok, err := l.Allow("4915112345678")
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if allowed != 3 {
		t.Fatalf("allowed %d messages across instances, want 3", allowed)
	}
}

// TestLimiterAcrossProcesses re-executes the test binary as several
// processes sharing one directory, released together, each making several
// passes over the same phones: exactly 3 messages per phone may pass in all.
func TestLimiterAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	const procs, keys, rounds = 4, 100, 5
	type helper struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
		out   *strings.Builder
	}
	var hs []helper
	for range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^$", dir, itoa(keys), itoa(rounds))
		cmd.Env = append(os.Environ(), envHelper+"=limiter")
		out := new(strings.Builder)
		cmd.Stdout = out
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill() })
		hs = append(hs, helper{cmd, stdin, out})
	}
	for _, h := range hs {
		io.WriteString(h.stdin, "go\n")
		h.stdin.Close()
	}
	allowed := 0
	for _, h := range hs {
		if err := waitTimeout(h.cmd, 30*time.Second); err != nil {
			t.Fatalf("helper: %v", err)
		}
		n, err := strconv.Atoi(strings.TrimSpace(h.out.String()))
		if err != nil {
			t.Fatalf("helper output %q", h.out.String())
		}
		allowed += n
	}
	if allowed != 3*keys {
		t.Fatalf("%d messages allowed across %d processes for %d phones; want %d", allowed, procs, keys, 3*keys)
	}
}

// waitTimeout waits for cmd, killing it after d.
func waitTimeout(cmd *exec.Cmd, d time.Duration) error {
	t := time.AfterFunc(d, func() { cmd.Process.Kill() })
	defer t.Stop()
	return cmd.Wait()
}

func itoa[T ~int | ~int64](n T) string { return strconv.FormatInt(int64(n), 10) }
