package provider_test

import (
	"sync"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestBreakerCycle(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	b := provider.NewBreaker(provider.BreakerPolicy{Failures: 3, CoolDown: 2 * time.Second}, clk.now)

	for i := range 2 {
		if !b.Allow() {
			t.Fatalf("closed breaker refused call %d", i)
		}
		b.Failure()
	}
	b.Allow()
	b.Success() // a success resets the count
	for range 2 {
		b.Allow()
		b.Failure()
	}
	if b.State() != provider.Closed {
		t.Fatal("opened after 2 failures following a success; want 3 in a row")
	}
	b.Allow()
	b.Failure()
	if b.State() != provider.Open || b.Allow() {
		t.Fatalf("state %s after 3 consecutive failures: want open, refusing", b.State())
	}
	clk.add(2 * time.Second)
	if b.State() != provider.HalfOpen {
		t.Fatalf("state %s after the cool-down, want half-open", b.State())
	}
	if !b.Allow() {
		t.Fatal("half-open breaker refused the probe")
	}
	if b.Allow() {
		t.Fatal("half-open breaker let a second call through while the probe is out")
	}
	b.Failure() // the probe failed: open again for a full cool-down
	clk.add(time.Second)
	if b.Allow() {
		t.Fatal("reopened breaker let a call through before the cool-down")
	}
	clk.add(time.Second)
	if !b.Allow() {
		t.Fatal("no probe after the second cool-down")
	}
	b.Abandon() // the caller gave up: the slot is free again
	if !b.Allow() {
		t.Fatal("abandoned probe kept the slot")
	}
	b.Success()
	if b.State() != provider.Closed || b.Opens() != 2 {
		t.Fatalf("state %s opens %d, want closed after the probe's success, 2 opens", b.State(), b.Opens())
	}
}
