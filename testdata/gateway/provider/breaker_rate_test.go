package provider_test

import (
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
)

// play feeds a closed breaker calls, one letter each: S a success, F a
// failure, T a timeout. It returns after how many calls the breaker opened
// (0: it stayed closed), failing the test if it refused a call before.
func play(t *testing.T, b *provider.Breaker, calls string) int {
	t.Helper()
	for i, c := range calls {
		if !b.Allow() {
			t.Fatalf("call %d of %q refused, state %s", i+1, calls, b.State())
		}
		switch c {
		case 'S':
			b.Success()
		case 'F':
			b.Failure()
		case 'T':
			b.Timeout()
		default:
			t.Fatalf("bad call %q", c)
		}
		if b.State() == provider.Open {
			return i + 1
		}
	}
	return 0
}

func TestBreakerTimeoutRate(t *testing.T) {
	for _, c := range []struct {
		name     string
		policy   provider.BreakerPolicy
		calls    string
		openedAt int // 0: stays closed
	}{
		{"every other call times out: the first timeout in a full window opens it",
			provider.BreakerPolicy{Failures: 3, TimeoutWindow: 10, TimeoutRate: 0.5}, "TSTSTSTSTSTS", 11},
		{"a success never opens it, even at the rate",
			provider.BreakerPolicy{Failures: 3, TimeoutWindow: 4, TimeoutRate: 0.5}, "TSTS", 0},
		{"a share below the rate never opens",
			provider.BreakerPolicy{Failures: 3, TimeoutWindow: 10, TimeoutRate: 0.5}, "TSSTSSTSSTSSTSSTSSTSSTSSTSS", 0},
		{"failures that are not timeouts do not count towards the rate",
			provider.BreakerPolicy{Failures: 3, TimeoutWindow: 4, TimeoutRate: 0.5}, "FSFSFSFSFSFS", 0},
		{"the rate is rounded up to whole calls: 0.3 of 10 is 3",
			provider.BreakerPolicy{Failures: 5, TimeoutWindow: 10, TimeoutRate: 0.3}, "SSSSSSSTST", 0},
		{"… and the third timeout opens it",
			provider.BreakerPolicy{Failures: 5, TimeoutWindow: 10, TimeoutRate: 0.3}, "SSSSSSSTSTT", 11},
		{"a window not yet full is not judged",
			provider.BreakerPolicy{Failures: 3, TimeoutWindow: 8, TimeoutRate: 0.5}, "TSTSTST", 0},
		{"old timeouts slide out of the window",
			provider.BreakerPolicy{Failures: 3, TimeoutWindow: 4, TimeoutRate: 0.75}, "TTSSSSTT", 0},
		{"… and new ones fill it again",
			provider.BreakerPolicy{Failures: 3, TimeoutWindow: 4, TimeoutRate: 0.75}, "TTSSSSTTT", 9},
		{"consecutive timeouts open it by the failure count first",
			provider.BreakerPolicy{Failures: 3, TimeoutWindow: 20, TimeoutRate: 0.5}, "SSTTT", 5},
		{"defaults: half of the last 20 calls",
			provider.BreakerPolicy{Failures: 3}, "STSTSTSTSTSTSTSTSTST", 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
			b := provider.NewBreaker(c.policy, clk.now)
			if got := play(t, b, c.calls); got != c.openedAt {
				t.Fatalf("%q opened after call %d, want %d (0: never)", c.calls, got, c.openedAt)
			}
			if c.openedAt > 0 && (b.Allow() || b.Opens() != 1) {
				t.Fatalf("open breaker let a call through, or opened %d times", b.Opens())
			}
		})
	}
}

// TestBreakerTimeoutRateCycle: opened by the rate, the breaker cools down,
// probes, and on success closes with an empty window; a timed-out probe
// reopens it.
func TestBreakerTimeoutRateCycle(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	b := provider.NewBreaker(provider.BreakerPolicy{Failures: 3, CoolDown: 2 * time.Second, TimeoutWindow: 6, TimeoutRate: 0.5}, clk.now)
	if got := play(t, b, "TSTSST"); got != 6 {
		t.Fatalf("opened after %d calls, want 6", got)
	}
	clk.add(1999 * time.Millisecond)
	if b.Allow() {
		t.Fatal("a call went through before the cool-down")
	}
	clk.add(time.Millisecond)
	if !b.Allow() {
		t.Fatal("no probe after the cool-down")
	}
	b.Timeout() // the probe hung: open for another cool-down
	if b.State() != provider.Open || b.Opens() != 2 {
		t.Fatalf("state %s, opens %d after a timed-out probe", b.State(), b.Opens())
	}
	clk.add(2 * time.Second)
	if !b.Allow() {
		t.Fatal("no probe after the second cool-down")
	}
	b.Success()
	// Closed with a fresh window: five calls with two timeouts do not
	// fill it, the sixth (a third timeout) does.
	if got := play(t, b, "TSSTS"); got != 0 {
		t.Fatalf("reopened after %d calls on the old window", got)
	}
	if got := play(t, b, "T"); got != 1 || b.Opens() != 3 {
		t.Fatalf("a full window at the rate did not reopen it (opens %d)", b.Opens())
	}
}
