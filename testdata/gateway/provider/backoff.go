package provider

import "time"

// WithDefaults returns p with its zero fields set: MaxAttempts to
// DefaultMaxAttempts, FirstBackoff and MaxBackoff to the seed design's
// DefaultFirstBackoff (1 s) and DefaultMaxBackoff (60 s). Jitter is taken as given (zero: none) once
// FirstBackoff or MaxBackoff is set, so that an explicit fast policy (a
// test's) is exact; a policy that sets neither gets DefaultJitter.
// AttemptTimeout is left to the router, which defaults it itself. This is
// the one place the gateway's retry defaults are applied, with a config
// file or without.
func (p RetryPolicy) WithDefaults() RetryPolicy {
	if p.FirstBackoff == 0 && p.MaxBackoff == 0 && p.Jitter == 0 {
		p.Jitter = DefaultJitter
	}
	p.MaxAttempts = orDefault(p.MaxAttempts, DefaultMaxAttempts)
	p.FirstBackoff = orDefault(p.FirstBackoff, DefaultFirstBackoff)
	p.MaxBackoff = orDefault(p.MaxBackoff, DefaultMaxBackoff)
	return p
}

// Backoff returns the wait before attempt+1 after attempt (1-based) failed:
// FirstBackoff doubled per earlier attempt, capped at MaxBackoff, then
// shortened by up to Jitter of itself using u, a uniform draw from [0, 1).
// With the defaults the nominal waits are 1 s, 2 s, 4 s … 60 s, and each is
// drawn from [0.8·d, d]. It is a pure function: the caller supplies the
// draw (rand.Float64()), tests supply fixed ones.
func (p RetryPolicy) Backoff(attempt int, u float64) time.Duration {
	first := orDefault(p.FirstBackoff, DefaultFirstBackoff)
	limit := orDefault(p.MaxBackoff, DefaultMaxBackoff)
	d := first
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	if u < 0 {
		u = 0
	} else if u >= 1 {
		u = 0.999999
	}
	return d - time.Duration(p.Jitter*u*float64(d))
}

// Exhausted reports whether a message that has been tried attempts times
// must now be failed.
func (p RetryPolicy) Exhausted(attempts int) bool {
	return attempts >= orDefault(p.MaxAttempts, DefaultMaxAttempts)
}
