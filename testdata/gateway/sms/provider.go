package sms

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// Provider delivers one message to the SMS network. An error means this
// attempt failed and may be retried; Send must return promptly with ctx's
// error when ctx is cancelled.
type Provider interface {
	Send(ctx context.Context, m Message) error
}

// SleepFunc waits for d or until ctx is done, returning ctx.Err() in that
// case. Tests substitute one that does not wait.
type SleepFunc func(ctx context.Context, d time.Duration) error

// Sleep is the real SleepFunc.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ErrProviderUnavailable is the temporary failure the stub provider simulates.
var ErrProviderUnavailable = errors.New("provider: temporarily unavailable (simulated)")

// StubProvider simulates a provider: every call takes Latency and then fails
// with ErrProviderUnavailable with probability FailureRate. The draws come
// from a PCG generator seeded with the given seed, so a test with a fixed seed
// sees the same sequence of outcomes for the same sequence of calls.
type StubProvider struct {
	latency     time.Duration
	failureRate float64
	sleep       SleepFunc

	mu  sync.Mutex
	rng *rand.Rand
}

// NewStubProvider returns a stub with the given behaviour. seed 0 picks a
// random seed; sleep nil means Sleep.
func NewStubProvider(latency time.Duration, failureRate float64, seed uint64, sleep SleepFunc) *StubProvider {
	if seed == 0 {
		seed = rand.Uint64()
	}
	if sleep == nil {
		sleep = Sleep
	}
	return &StubProvider{
		latency:     latency,
		failureRate: failureRate,
		sleep:       sleep,
		rng:         rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
}

// Send waits for the latency and then succeeds or fails as drawn.
func (p *StubProvider) Send(ctx context.Context, _ Message) error {
	if p.latency > 0 {
		if err := p.sleep(ctx, p.latency); err != nil {
			return err
		}
	}
	p.mu.Lock()
	fail := p.rng.Float64() < p.failureRate
	p.mu.Unlock()
	if fail {
		return ErrProviderUnavailable
	}
	return nil
}
