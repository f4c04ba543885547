package sms

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// Provider delivers one message to the SMS network. m.ID is the message's
// idempotency key at the provider (Aliyun's OutId, Tencent's SessionContext):
// a provider that has already accepted m.ID must not send it again, because
// delivery is at least once — a worker lost after the provider accepted a
// message but before the outcome was stored leaves the call to be repeated
// by the worker that takes it over.
//
// An error means this attempt failed. It is retried with backoff unless it
// is permanent (see Permanent), up to Config.Retry.MaxAttempts. Send must return
// promptly with ctx's error when ctx is cancelled.
type Provider interface {
	Send(ctx context.Context, m Message) error
}

// permanentError marks an error that no retry can fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps err so that the message fails at once instead of being
// retried (an invalid number, a rejected template, bad credentials).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
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

// StubProvider simulates a provider inside the process: every call takes
// Latency and then fails with ErrProviderUnavailable with probability
// FailureRate; a message id it has accepted before is acknowledged again
// without a second send, as a real provider does with an out id. The draws
// come from a PCG generator seeded with the given seed, so a test with a
// fixed seed sees the same outcomes for the same sequence of calls.
//
// Its memory of ids is this process's only: workers of one gateway that
// must share a provider's dedup (and count its sends) use HTTPProvider with
// one provider service.
type StubProvider struct {
	latency     time.Duration
	failureRate float64
	sleep       SleepFunc

	mu    sync.Mutex
	rng   *rand.Rand
	sent  map[string]bool
	sends int
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
		sent:        map[string]bool{},
	}
}

// Send waits for the latency and then succeeds or fails as drawn.
func (p *StubProvider) Send(ctx context.Context, m Message) error {
	if p.latency > 0 {
		if err := p.sleep(ctx, p.latency); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sent[m.ID] {
		return nil
	}
	if p.rng.Float64() < p.failureRate {
		return ErrProviderUnavailable
	}
	p.sent[m.ID] = true
	p.sends++
	return nil
}

// Sends is how many distinct messages the stub has sent.
func (p *StubProvider) Sends() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sends
}
