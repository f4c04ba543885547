package provider

import (
	"sync"
	"time"
)

// BreakerState is the state of a provider's circuit breaker.
type BreakerState int

// The breaker states.
const (
	Closed   BreakerState = iota // calls go through; failures are counted
	Open                         // calls are refused until the cool-down has passed
	HalfOpen                     // one probe call is let through; its outcome closes or reopens
)

func (s BreakerState) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return "unknown"
}

// Breaker is one provider's circuit breaker. It opens on either of two
// triggers while closed:
//   - Failures consecutive provider failures (errors of class Temporary or
//     Account, timeouts included), or
//   - timeouts in at least TimeoutRate of the last TimeoutWindow calls, even
//     with successes in between: a provider that hangs on every other call
//     never fails Failures times in a row, yet costs each of those calls a
//     full attempt timeout. The share is judged at each timeout, once the
//     window is full.
//
// Open, it refuses calls for CoolDown, then lets one probe through
// (half-open): a success closes it with a fresh count and window, a failure
// reopens it for another CoolDown. Its methods are safe for concurrent use;
// the state is small enough that a mutex owns it.
type Breaker struct {
	policy BreakerPolicy
	now    func() time.Time

	mu       sync.Mutex
	state    BreakerState
	failures int           // consecutive, while closed
	recent   timeoutWindow // the last calls' outcomes, while closed
	openedAt time.Time     // when it last opened
	probing  bool          // a half-open probe is in flight
	opens    int           // times it opened
}

// NewBreaker returns a closed breaker; now is time.Now when nil.
func NewBreaker(p BreakerPolicy, now func() time.Time) *Breaker {
	if p.Failures < 1 {
		p.Failures = DefaultBreakerFailures
	}
	if p.CoolDown <= 0 {
		p.CoolDown = DefaultBreakerCoolDown
	}
	if p.TimeoutWindow < 1 {
		p.TimeoutWindow = DefaultBreakerTimeoutWindow
	}
	if !(p.TimeoutRate > 0 && p.TimeoutRate <= 1) {
		p.TimeoutRate = DefaultBreakerTimeoutRate
	}
	if now == nil {
		now = time.Now
	}
	return &Breaker{policy: p, now: now, recent: newTimeoutWindow(p.TimeoutWindow, p.TimeoutRate)}
}

// Allow reports whether a call may go to the provider now. A true answer in
// the half-open state makes the caller the probe: it must report the
// outcome with Success, Failure or Abandon.
func (b *Breaker) Allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Closed:
		return true
	case Open:
		if b.now().Sub(b.openedAt) < b.policy.CoolDown {
			return false
		}
		b.state = HalfOpen
		fallthrough
	default: // HalfOpen
		if b.probing {
			return false
		}
		b.probing = true
		return true
	}
}

// Success records a call the provider handled: it closes the breaker (a
// closed one counts it in the timeout window).
func (b *Breaker) Success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == Closed {
		b.recent.add(false)
	} else {
		b.recent.reset()
	}
	b.state, b.failures, b.probing = Closed, 0, false
}

// Failure records a provider failure other than a timeout: the Failures-th
// in a row, or a failed probe, opens the breaker.
func (b *Breaker) Failure() { b.failure(false) }

// Timeout records a call that got no answer within its attempt timeout: a
// failure (see Failure) that also counts towards the timeout rate.
func (b *Breaker) Timeout() { b.failure(true) }

func (b *Breaker) failure(timeout bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case HalfOpen:
		b.open()
	case Closed:
		b.failures++
		b.recent.add(timeout)
		if b.failures >= b.policy.Failures || b.recent.tripped() {
			b.open()
		}
	}
}

// Abandon records a call whose outcome says nothing about the provider
// (the caller gave up first): a probe slot is freed, nothing else changes.
func (b *Breaker) Abandon() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
}

func (b *Breaker) open() {
	b.state, b.failures, b.probing = Open, 0, false
	b.recent.reset()
	b.openedAt = b.now()
	b.opens++
}

// State returns the current state; an open breaker whose cool-down has
// passed reports HalfOpen (its next Allow lets a probe through).
func (b *Breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == Open && b.now().Sub(b.openedAt) >= b.policy.CoolDown {
		return HalfOpen
	}
	return b.state
}

// Opens returns how many times the breaker has opened.
func (b *Breaker) Opens() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opens
}
