package provider

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Simulated is the provider without a network: each call takes Latency and
// then fails (Temporary, code "SimulatedFailure") with probability
// FailureRate. Draws come from a PCG generator seeded with the configured
// seed, so a fixed seed gives the same outcomes for the same calls.
type Simulated struct {
	name        string
	latency     time.Duration
	failureRate float64
	seq         atomic.Uint64

	mu  sync.Mutex
	rng *rand.Rand
}

// NewSimulated returns a simulated provider; seed 0 picks a random seed.
func NewSimulated(name string, latency time.Duration, failureRate float64, seed uint64) *Simulated {
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &Simulated{name: name, latency: latency, failureRate: failureRate, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (s *Simulated) Name() string { return s.name }
func (s *Simulated) Kind() Kind   { return KindSimulated }

// Send waits for the latency, then succeeds or fails as drawn. Its provider
// id is "sim-N".
func (s *Simulated) Send(ctx context.Context, _ Message) (string, error) {
	if s.latency > 0 {
		t := time.NewTimer(s.latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return "", transportError(ctx, s.name, ctx.Err())
		}
	}
	s.mu.Lock()
	fail := s.rng.Float64() < s.failureRate
	s.mu.Unlock()
	if fail {
		return "", &Error{Provider: s.name, Code: "SimulatedFailure", Message: "temporarily unavailable (simulated)", Class: Temporary}
	}
	return fmt.Sprintf("sim-%d", s.seq.Add(1)), nil
}

// constantTimeEqual compares a and b without leaking where they differ or
// (through the hashing) their lengths.
func constantTimeEqual(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
