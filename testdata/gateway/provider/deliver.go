package provider

import (
	"context"
	"math/rand/v2"
	"time"
)

// Deliver makes up to p.MaxAttempts attempts to send m through r, waiting
// p.Backoff between them, and stops early at success, at a Permanent error
// or when ctx ends. It returns the result, the number of attempts made and,
// on failure, the last provider error. wait is the pause (nil: a timer
// that ctx interrupts); draw the jitter draw (nil: rand.Float64). A
// delivery loop that persists attempts between tries calls Router.Send,
// RetryPolicy.Backoff and RetryPolicy.Exhausted itself instead.
func Deliver(ctx context.Context, r *Router, p RetryPolicy, m Message, wait func(context.Context, time.Duration) error, draw func() float64) (Result, int, error) {
	if wait == nil {
		wait = sleep
	}
	if draw == nil {
		draw = rand.Float64
	}
	for attempt := 1; ; attempt++ {
		res, err := r.Send(ctx, m)
		if err == nil || !IsRetryable(err) || p.Exhausted(attempt) || ctx.Err() != nil {
			return res, attempt, err
		}
		if werr := wait(ctx, p.Backoff(attempt, draw())); werr != nil {
			return Result{}, attempt, err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
