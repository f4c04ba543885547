package auth

import (
	"math"
	"time"
)

// Bucket is the state of one application's quota, as a store keeps it.
type Bucket struct {
	Tokens   float64 // tokens left in the per-second bucket
	Refilled int64   // when Tokens was last brought up to date, Unix ns
	Day      int64   // the UTC day of Count (see Day)
	Count    int64   // messages taken on Day
}

// NewBucket is the state of an application seen for the first time: a
// full bucket, nothing counted today.
func (q Quota) NewBucket(now time.Time) Bucket {
	day, _ := Day(now)
	return Bucket{Tokens: float64(q.Burst), Refilled: now.UnixNano(), Day: day}
}

// Take takes one message from b at now: it returns the new state and the
// outcome; a refusal leaves b as it was. Stores that decide on the
// gateway's clock (the embedded one) call it inside their transaction;
// the Redis store runs the same rules in Lua on Redis's clock.
func (q Quota) Take(b Bucket, now time.Time) (Bucket, QuotaResult) {
	day, untilNext := Day(now)
	if b.Day != day {
		b.Day, b.Count = day, 0
	}
	if q.PerDay > 0 && b.Count >= int64(q.PerDay) {
		return b, QuotaResult{Limit: LimitPerDay, RetryAfter: untilNext}
	}
	if q.PerSecond > 0 {
		elapsed := max(0, now.UnixNano()-b.Refilled)
		b.Tokens = math.Min(float64(q.Burst), b.Tokens+float64(elapsed)/1e9*q.PerSecond)
		b.Refilled = now.UnixNano()
		if b.Tokens < 1 {
			wait := time.Duration(math.Ceil((1 - b.Tokens) / q.PerSecond * 1e9))
			return b, QuotaResult{Limit: LimitPerSecond, RetryAfter: wait}
		}
		b.Tokens--
	}
	b.Count++
	return b, QuotaResult{Allowed: true}
}

// Return gives one message taken at or before now back to b.
func (q Quota) Return(b Bucket, now time.Time) Bucket {
	if q.PerSecond > 0 {
		b.Tokens = math.Min(float64(q.Burst), b.Tokens+1)
	}
	if day, _ := Day(now); b.Day == day && b.Count > 0 {
		b.Count--
	}
	return b
}
