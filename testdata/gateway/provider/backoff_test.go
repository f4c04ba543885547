package provider_test

import (
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
)

func TestBackoffDoublesToTheCap(t *testing.T) {
	p := provider.DefaultConfig().Retry
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	for i, w := range want {
		if got := p.Backoff(i+1, 0); got != w*time.Second {
			t.Errorf("Backoff(%d, 0) = %v, want %v", i+1, got, w*time.Second)
		}
	}
	if got := p.Backoff(1000, 0); got != 60*time.Second {
		t.Errorf("Backoff(1000) = %v: the doubling must stop at the cap", got)
	}
}

func TestBackoffJitterStaysInItsBand(t *testing.T) {
	p := provider.DefaultConfig().Retry // jitter 0.2
	for _, u := range []float64{0, 0.25, 0.5, 0.999, 1, -1} {
		for attempt := 1; attempt <= 10; attempt++ {
			nominal := p.Backoff(attempt, 0)
			got := p.Backoff(attempt, u)
			if got > nominal || got < nominal*8/10 {
				t.Fatalf("Backoff(%d, %v) = %v, outside [0.8·%v, %v]", attempt, u, got, nominal, nominal)
			}
		}
	}
	if a, b := p.Backoff(3, 0.1), p.Backoff(3, 0.9); a <= b {
		t.Fatalf("draws 0.1 and 0.9 gave %v and %v: jitter has no effect", a, b)
	}
}

func TestExhausted(t *testing.T) {
	p := provider.RetryPolicy{MaxAttempts: 3}
	if p.Exhausted(2) || !p.Exhausted(3) {
		t.Fatal("MaxAttempts 3: exhausted after exactly 3 attempts")
	}
}
