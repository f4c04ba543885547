package sms

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/auth"
	"github.com/nodeagent/node-agent/testdata/gateway/sms/smstest"
)

// The auth.Store contract, against both backends.

func TestSQLiteAuthStore(t *testing.T) {
	testAuthStore(t, func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "sms.db") })
}

func TestRedisAuthStore(t *testing.T) {
	testAuthStore(t, func(t *testing.T) string { return smstest.StartRedis(t).URL() })
}

func testAuthStore(t *testing.T, spec func(t *testing.T) string) {
	ctx := context.Background()
	// open returns two connections to one fresh store: two workers.
	open := func(t *testing.T) (auth.Store, auth.Store) {
		t.Helper()
		s := spec(t)
		var out [2]auth.Store
		for i := range out {
			st, err := OpenStore(ctx, s, "")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			out[i] = st.(auth.Store)
		}
		return out[0], out[1]
	}

	t.Run("nonces", func(t *testing.T) {
		a, b := open(t)
		now := time.Now()
		for i, c := range []struct {
			st         auth.Store
			app, nonce string
			ttl        time.Duration
			first      bool
		}{
			{a, "shop", "nonce-0000000001", 200 * time.Millisecond, true},
			{b, "shop", "nonce-0000000001", time.Minute, false}, // the other worker sees it
			{a, "bulk", "nonce-0000000001", time.Minute, true},  // another application's
			{b, "shop", "nonce-0000000002", time.Minute, true},
		} {
			first, err := c.st.UseNonce(ctx, c.app, c.nonce, now, c.ttl)
			if err != nil || first != c.first {
				t.Fatalf("use %d: %v %v, want first=%v", i, first, err, c.first)
			}
		}
		// Expired, a nonce may come again (its timestamp is outside the window by then).
		waitFor(t, "the nonce to expire", func() bool {
			first, err := b.UseNonce(ctx, "shop", "nonce-0000000001", time.Now(), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return first
		})
	})

	t.Run("quota shared by workers", func(t *testing.T) {
		a, b := open(t)
		q := auth.Quota{PerSecond: 0.001, Burst: 10, PerDay: 1000} // no refill to speak of
		var mu sync.Mutex
		allowed := 0
		var wg sync.WaitGroup
		for _, st := range []auth.Store{a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					res, err := st.TakeQuota(ctx, "shop", q, time.Now())
					if err != nil {
						t.Error(err)
						return
					}
					if res.Allowed {
						mu.Lock()
						allowed++
						mu.Unlock()
					} else if res.Limit != auth.LimitPerSecond || res.RetryAfter < 100*time.Second {
						t.Errorf("refusal %+v, want per_second with Retry-After of about 1000 s", res)
					}
				}
			}()
		}
		wg.Wait()
		if allowed != 10 {
			t.Fatalf("%d of 40 allowed by a bucket of 10, want 10", allowed)
		}
		// A returned message is a token back.
		if err := b.ReturnQuota(ctx, "shop", q, time.Now()); err != nil {
			t.Fatal(err)
		}
		if res, err := a.TakeQuota(ctx, "shop", q, time.Now()); err != nil || !res.Allowed {
			t.Fatalf("after a return: %+v %v", res, err)
		}
		if res, _ := a.TakeQuota(ctx, "shop", q, time.Now()); res.Allowed {
			t.Fatal("the bucket holds more than it was given back")
		}
	})

	t.Run("quota per day", func(t *testing.T) {
		a, b := open(t)
		q := auth.Quota{PerDay: 3}
		for i := range 3 {
			if res, err := []auth.Store{a, b}[i%2].TakeQuota(ctx, "bulk", q, time.Now()); err != nil || !res.Allowed {
				t.Fatalf("take %d: %+v %v", i, res, err)
			}
		}
		res, err := b.TakeQuota(ctx, "bulk", q, time.Now())
		_, untilNext := auth.Day(time.Now())
		if err != nil || res.Allowed || res.Limit != auth.LimitPerDay || res.RetryAfter > untilNext+time.Minute || res.RetryAfter < untilNext-time.Minute {
			t.Fatalf("4th: %+v %v, want per_day refused until the next UTC day (%v)", res, err, untilNext)
		}
		a.ReturnQuota(ctx, "bulk", q, time.Now())
		if res, _ := b.TakeQuota(ctx, "bulk", q, time.Now()); !res.Allowed {
			t.Fatal("a returned message did not free the day's quota")
		}
	})

	t.Run("refill", func(t *testing.T) {
		a, _ := open(t)
		q := auth.Quota{PerSecond: 0.5, Burst: 1} // a token every 2 s
		if res, _ := a.TakeQuota(ctx, "shop", q, time.Now()); !res.Allowed {
			t.Fatal("first take refused")
		}
		res, err := a.TakeQuota(ctx, "shop", q, time.Now())
		if err != nil || res.Allowed || res.RetryAfter <= 0 || res.RetryAfter > 2*time.Second {
			t.Fatalf("second take: %+v %v, want refused for at most 2 s", res, err)
		}
		refused := time.Now()
		var after auth.QuotaResult
		waitFor(t, "a token after Retry-After", func() bool {
			after, err = a.TakeQuota(ctx, "shop", q, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			return after.Allowed
		})
		if waited := time.Since(refused); waited > res.RetryAfter+500*time.Millisecond {
			t.Fatalf("admitted %v after the refusal, Retry-After said %v", waited, res.RetryAfter)
		}
	})

	t.Run("default secret", func(t *testing.T) {
		a, b := open(t)
		var got [4]string
		var wg sync.WaitGroup
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := []auth.Store{a, b}[i%2].InitSecret(ctx, "default", fmt.Sprint("secret-", i))
				if err != nil {
					t.Error(err)
				}
				got[i] = s
			}()
		}
		wg.Wait()
		for _, s := range got[1:] {
			if s != got[0] || s == "" {
				t.Fatalf("secrets %q: want one for all", got)
			}
		}
	})
}
