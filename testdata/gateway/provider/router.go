package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Router sends each message through the first healthy provider of an
// ordered list, failing over to the next one when a provider fails, with a
// circuit breaker per provider so that a provider in an outage is skipped
// (and probed after the cool-down) instead of being tried first by every
// message. It is safe for concurrent use.
type Router struct {
	members []*member
	timeout time.Duration
	observe func(Call)
}

// Call is one provider call, reported to RouterOptions.Observe.
type Call struct {
	Provider string
	Latency  time.Duration
	Err      error // nil on success; an *Error otherwise
}

// RouterOptions configures NewRouter.
type RouterOptions struct {
	Breaker BreakerPolicy
	// AttemptTimeout bounds one provider call; DefaultAttemptTimeout when
	// zero. A call that runs out of it is a provider failure.
	AttemptTimeout time.Duration
	// Now is the breakers' clock; time.Now when nil.
	Now func() time.Time
	// Observe, when set, is called after every provider call, for metrics.
	// It must not block.
	Observe func(Call)
}

type member struct {
	p       Provider
	breaker *Breaker

	mu    sync.Mutex
	stats ProviderStats
}

// ProviderStats are one provider's counters since the Router started.
type ProviderStats struct {
	Name       string        `json:"name"`
	Kind       Kind          `json:"kind"`
	State      string        `json:"breaker"`
	Opens      int           `json:"breaker_opens"`
	Calls      int64         `json:"calls"`
	Sent       int64         `json:"sent"`
	Failures   int64         `json:"failures"` // Temporary and Account errors, timeouts included
	Timeouts   int64         `json:"timeouts"`
	Throttled  int64         `json:"throttled"`
	Rejected   int64         `json:"rejected"` // Permanent errors: the message was bad
	Skipped    int64         `json:"skipped"`  // messages that passed it by because its breaker was open
	LatencySum time.Duration `json:"latency_sum_ns"`
	LatencyMax time.Duration `json:"latency_max_ns"`
	LastError  string        `json:"last_error,omitempty"` // code only
}

// Result is a sent message.
type Result struct {
	Provider   string // name of the provider that accepted it
	Kind       Kind
	ProviderID string // its id at that provider, named by receipts
	Failovers  int    // providers that failed before this one, in this call
}

// NewRouter returns a router over providers, in failover order.
func NewRouter(providers []Provider, o RouterOptions) (*Router, error) {
	if len(providers) == 0 {
		return nil, errors.New("provider: a router needs at least one provider")
	}
	r := &Router{timeout: orDefault(o.AttemptTimeout, DefaultAttemptTimeout), observe: o.Observe}
	seen := map[string]bool{}
	for _, p := range providers {
		if seen[p.Name()] {
			return nil, fmt.Errorf("provider: %q listed twice", p.Name())
		}
		seen[p.Name()] = true
		r.members = append(r.members, &member{p: p, breaker: NewBreaker(o.Breaker, o.Now), stats: ProviderStats{Name: p.Name(), Kind: p.Kind()}})
	}
	return r, nil
}

// Send makes one delivery attempt for m: it tries the providers in order,
// skipping those whose breaker is open, until one accepts the message. It
// stops at the first error of class Permanent (the message is bad) or
// Throttled (the recipient is rate limited; retry later). When every
// provider failed it returns the last provider's error; when every breaker
// was open, an *Error wrapping ErrNoProvider. Both are retryable: the
// caller waits RetryPolicy.Backoff and calls Send again.
func (r *Router) Send(ctx context.Context, m Message) (Result, error) {
	var last error
	failovers := 0
	for _, mb := range r.members {
		if !mb.breaker.Allow() {
			mb.count(func(s *ProviderStats) { s.Skipped++ })
			continue
		}
		id, err := r.call(ctx, mb, m)
		if err == nil {
			return Result{Provider: mb.p.Name(), Kind: mb.p.Kind(), ProviderID: id, Failovers: failovers}, nil
		}
		if ctx.Err() != nil {
			return Result{}, err // the caller gave up: not the provider's failure
		}
		var pe *Error
		if !errors.As(err, &pe) || !pe.failsProvider() {
			return Result{}, err
		}
		last = err
		failovers++
	}
	if last == nil {
		return Result{}, &Error{Code: "NoProviderAvailable", Message: ErrNoProvider.Error(), Class: Temporary, Err: ErrNoProvider}
	}
	return Result{}, last
}

// call makes one provider call under the attempt timeout and records its
// outcome in the breaker and the stats.
func (r *Router) call(ctx context.Context, mb *member, m Message) (string, error) {
	actx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	start := time.Now()
	id, err := mb.p.Send(actx, m)
	latency := time.Since(start)
	var pe *Error
	if err != nil && !errors.As(err, &pe) {
		pe = transportError(actx, mb.p.Name(), err)
		err = pe
	}
	switch {
	case err == nil:
		mb.breaker.Success()
	case ctx.Err() != nil:
		mb.breaker.Abandon()
	case pe.TimedOut():
		mb.breaker.Timeout()
	case pe.failsProvider():
		mb.breaker.Failure()
	default:
		mb.breaker.Success() // it answered: the message or recipient was refused
	}
	mb.count(func(s *ProviderStats) {
		s.Calls++
		s.LatencySum += latency
		s.LatencyMax = max(s.LatencyMax, latency)
		switch {
		case err == nil:
			s.Sent++
			return
		case pe.Class == Permanent:
			s.Rejected++
		case pe.Class == Throttled:
			s.Throttled++
		default:
			s.Failures++
			if pe.TimedOut() {
				s.Timeouts++
			}
		}
		s.LastError = pe.Code
	})
	if r.observe != nil {
		r.observe(Call{Provider: mb.p.Name(), Latency: latency, Err: err})
	}
	return id, err
}

func (mb *member) count(f func(*ProviderStats)) {
	mb.mu.Lock()
	f(&mb.stats)
	mb.mu.Unlock()
}

// Stats returns every provider's counters, in failover order.
func (r *Router) Stats() []ProviderStats {
	out := make([]ProviderStats, len(r.members))
	for i, mb := range r.members {
		mb.mu.Lock()
		s := mb.stats
		mb.mu.Unlock()
		s.State = mb.breaker.State().String()
		s.Opens = mb.breaker.Opens()
		out[i] = s
	}
	return out
}

// Providers returns the providers in failover order.
func (r *Router) Providers() []Provider {
	ps := make([]Provider, len(r.members))
	for i, mb := range r.members {
		ps[i] = mb.p
	}
	return ps
}

// Describe is the start log line's list of providers, such as
// "aliyun(aliyun) → tencent(tencent)" or "simulated(simulated)".
func (r *Router) Describe() string {
	s := ""
	for i, mb := range r.members {
		if i > 0 {
			s += " → "
		}
		s += mb.p.Name() + "(" + string(mb.p.Kind()) + ")"
	}
	return s
}
