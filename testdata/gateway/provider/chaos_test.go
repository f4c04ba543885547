package provider_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
	"github.com/nodeagent/node-agent/testdata/gateway/provider/providertest"
)

// TestChaosNoMessageLostOrDuplicated: concurrent senders while the primary
// flips between working, failing, throttling its account and hanging. Every
// message is accepted; one is accepted twice only when a call to the
// primary timed out (it may have accepted before the deadline hit: delivery
// is at least once), so duplicates are bounded by the timeouts.
func TestChaosNoMessageLostOrDuplicated(t *testing.T) {
	const senders, window = 6, 300 * time.Millisecond
	fa, fb := newAliyunFake(t), newTencentFake(t)
	r, err := provider.NewRouter([]provider.Provider{
		newAliyun(t, fa.URL(), aliyunKeyID, aliyunSecret, nil),
		newTencent(t, fb.URL(), tencentID, tencentSecret, nil),
	}, provider.RouterOptions{Breaker: provider.BreakerPolicy{Failures: 2, CoolDown: 150 * time.Millisecond}, AttemptTimeout: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	policy := provider.RetryPolicy{MaxAttempts: 10, FirstBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Jitter: 0.5}

	// The primary's modes, one window each, twice over.
	stop := make(chan struct{})
	go func() {
		defer close(stop)
		cycle := []providertest.Mode{providertest.Normal, providertest.Fail, providertest.Normal, providertest.Throttle, providertest.Normal, providertest.Hang}
		for range 2 {
			for _, m := range cycle {
				fa.SetMode(m)
				time.Sleep(window) // the chaos schedule, not synchronisation
			}
		}
		fa.SetMode(providertest.Normal)
	}()

	var wg sync.WaitGroup
	var mu sync.Mutex
	var lost []error
	total := 0
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(s), 7))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(time.Duration(rng.IntN(10)) * time.Millisecond):
				}
				id := fmt.Sprintf("s%d-m%d", s, i)
				_, _, err := provider.Deliver(context.Background(), r, policy, verifyMessage(id, "+8613800138000"), nil, nil)
				mu.Lock()
				total++
				if err != nil {
					lost = append(lost, fmt.Errorf("%s: %w", id, err))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, err := range lost {
		t.Error("lost:", err)
	}
	seen := map[string]int{}
	for _, s := range append(fa.Sent(), fb.Sent()...) {
		seen[s.OutID]++
	}
	dups := 0
	for _, n := range seen {
		if n > 1 {
			dups++
		}
	}
	st := r.Stats()
	t.Logf("%d messages: primary sent %d, secondary %d; primary failures %d (timeouts %d), opens %d; accepted twice %d", total, st[0].Sent, st[1].Sent, st[0].Failures, st[0].Timeouts, st[0].Opens, dups)
	if len(seen) != total || int64(dups) > st[0].Timeouts {
		t.Fatalf("%d distinct messages accepted (want %d), %d accepted twice with %d timeouts", len(seen), total, dups, st[0].Timeouts)
	}
	if st[0].Timeouts == 0 || st[0].Failures <= st[0].Timeouts || st[0].Sent == 0 || st[1].Sent == 0 {
		t.Fatalf("the chaos did not reach the primary in every mode: %+v", st[0])
	}
}
