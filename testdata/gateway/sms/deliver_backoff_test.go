package sms

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
)

// The waits between a message's attempts are the retry policy's: doubling
// from FirstBackoff, capped at MaxBackoff, each drawn from its jitter band.
// The deliverer does not wait them itself: it gives the message back to the
// store with its next attempt's time.

// retryRecorder is a Store that records the wait each retry asks for (its
// NextAttemptAt less the time of the failure) and then moves the fake clock
// past it, so the deliverer claims the message again at once.
type retryRecorder struct {
	Store
	clock *fakeClock

	mu    sync.Mutex
	waits []time.Duration
}

func (r *retryRecorder) Release(ctx context.Context, owner string, l Lease, m Message) (bool, error) {
	held, err := r.Store.Release(ctx, owner, l, m)
	if m.NextAttemptAt != nil {
		wait := m.NextAttemptAt.Sub(m.UpdatedAt)
		r.mu.Lock()
		r.waits = append(r.waits, wait)
		r.mu.Unlock()
		r.clock.Advance(wait)
	}
	return held, err
}

func (r *retryRecorder) Waited() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.waits)
}

// failWaits runs a deliverer whose provider always fails a temporary error
// and returns the waits its retries asked the store for until the message
// failed.
func failWaits(t *testing.T, o DelivererOptions) []time.Duration {
	t.Helper()
	ctx := context.Background()
	st, err := OpenStore(ctx, "sqlite:"+filepath.Join(t.TempDir(), "sms.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := newMessage("+4915112345678")
	if _, err := st.Accept(ctx, acceptReq(m, "")); err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	rec := &retryRecorder{Store: st, clock: clock}
	o.Store, o.Log, o.Now, o.PollInterval = rec, discardLog(), clock.Now, 10*time.Millisecond
	o.Provider = providerFunc(func(context.Context, Message) error { return ErrProviderUnavailable })
	d := NewDeliverer(o)
	d.Start()
	defer d.Stop(ctx)
	waitFor(t, "the message failed", func() bool {
		got, _ := st.Get(ctx, m.ID)
		return got.Status == StatusFailed
	})
	return rec.Waited()
}

func TestDelivererWaitsFollowThePolicyWithJitter(t *testing.T) {
	policy := provider.RetryPolicy{MaxAttempts: 7, FirstBackoff: time.Second, MaxBackoff: 8 * time.Second, Jitter: 0.5}
	nominal := []time.Duration{1, 2, 4, 8, 8, 8} // seconds, after attempts 1…6
	waits := failWaits(t, DelivererOptions{Retry: policy})
	if len(waits) != len(nominal) {
		t.Fatalf("%d waits for %d attempts: %v", len(waits), policy.MaxAttempts, waits)
	}
	jittered := 0
	for i, w := range waits {
		hi := nominal[i] * time.Second
		lo := hi / 2
		if w < lo || w > hi {
			t.Errorf("wait %d = %v, want within the jitter band [%v, %v]", i+1, w, lo, hi)
		}
		if w != hi {
			jittered++
		}
	}
	if jittered == 0 {
		t.Errorf("no wait was jittered: %v", waits)
	}
}

func TestDelivererWaitsUseItsDraw(t *testing.T) {
	policy := provider.RetryPolicy{MaxAttempts: 4, FirstBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, Jitter: 0.2}
	waits := failWaits(t, DelivererOptions{Retry: policy, Draw: func() float64 { return 0.5 }})
	want := []time.Duration{90 * time.Millisecond, 180 * time.Millisecond, 360 * time.Millisecond}
	if !slices.Equal(waits, want) {
		t.Fatalf("waits %v, want %v (nominal less 0.5 of the 0.2 jitter)", waits, want)
	}
}

func TestDelivererDefaultsToTheSeedDesignBackoff(t *testing.T) {
	waits := failWaits(t, DelivererOptions{Draw: func() float64 { return 0 }})
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute} // provider.DefaultMaxAttempts 8
	if !slices.Equal(waits, want) {
		t.Fatalf("default waits %v, want %v", waits, want)
	}
}
