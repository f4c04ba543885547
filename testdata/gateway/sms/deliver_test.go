package sms

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
	"github.com/nodeagent/node-agent/testdata/gateway/sms/smstest"
)

// The deliverer against both stores: takeover of a lost worker's message
// within the lease, hand-back on a graceful stop, retries and permanent
// failures.

func TestSQLiteDeliverer(t *testing.T) {
	testDeliverer(t, func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "sms.db") })
}

func TestRedisDeliverer(t *testing.T) {
	testDeliverer(t, func(t *testing.T) string { return smstest.StartRedis(t).URL() })
}

func testDeliverer(t *testing.T, spec func(t *testing.T) string) {
	ctx := context.Background()
	const lease = 300 * time.Millisecond
	setup := func(t *testing.T) Store {
		st, err := OpenStore(ctx, spec(t), "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	start := func(t *testing.T, st Store, p Provider) *Deliverer {
		d := NewDeliverer(DelivererOptions{
			Store: st, Provider: p, Log: discardLog(), Lease: lease, PollInterval: 10 * time.Millisecond,
			Retry: provider.RetryPolicy{FirstBackoff: time.Millisecond}, Senders: 2,
		})
		d.Start()
		return d
	}
	accept := func(t *testing.T, st Store) Message {
		m := newMessage("+4915112345678")
		if _, err := st.Accept(ctx, acceptReq(m, "")); err != nil {
			t.Fatal(err)
		}
		return m
	}
	waitStatus := func(t *testing.T, st Store, id string, want Status) Message {
		var m Message
		waitFor(t, "status "+string(want), func() bool {
			m, _ = st.Get(ctx, id)
			return m.Status == want
		})
		return m
	}

	t.Run("takeover of a lost worker's message", func(t *testing.T) {
		st := setup(t)
		m := accept(t, st)
		// A worker claims it and dies: no renewals, no outcome.
		if l, err := st.Claim(ctx, ClaimRequest{Owner: "dead", Max: 1, Lease: lease, GiveUpAfter: 8, Now: time.Now()}); err != nil || len(l) != 1 {
			t.Fatalf("claim: %v %v", l, err)
		}
		claimed := time.Now()
		d := start(t, st, okProvider())
		defer d.Stop(ctx)
		got := waitStatus(t, st, m.ID, StatusSent)
		took := time.Since(claimed)
		if got.Attempts != 2 || d.Stats().Takeovers != 1 {
			t.Fatalf("record %+v, stats %+v", got, d.Stats())
		}
		if took > lease+time.Second {
			t.Fatalf("taken over after %v, lease %v", took, lease)
		}
		t.Logf("taken over and sent %v after the lost worker claimed it (lease %v)", took, lease)
	})

	t.Run("graceful stop hands back", func(t *testing.T) {
		st := setup(t)
		m := accept(t, st)
		p := newBlockingProvider()
		d := start(t, st, p)
		<-p.started
		stopCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := d.Stop(stopCtx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Stop = %v", err)
		}
		got, _ := st.Get(ctx, m.ID)
		if got.Status != StatusQueued || got.Attempts != 1 || d.Stats().Released != 1 {
			t.Fatalf("after stop: %+v %+v", got, d.Stats())
		}
		// Another worker picks it up at once (no lease to wait for).
		handedBack := time.Now()
		d2 := start(t, st, okProvider())
		defer d2.Stop(ctx)
		got = waitStatus(t, st, m.ID, StatusSent)
		if got.Attempts != 2 || d2.Stats().Takeovers != 0 || time.Since(handedBack) > lease {
			t.Fatalf("after hand-back: %+v %+v after %v", got, d2.Stats(), time.Since(handedBack))
		}
	})

	t.Run("lease at accept", func(t *testing.T) {
		st := setup(t)
		idle := NewDeliverer(DelivererOptions{Store: st, Provider: okProvider(), Log: discardLog()})
		if _, ok := idle.Reserve(); ok {
			t.Fatal("a deliverer not started reserved a slot")
		}
		p := newBlockingProvider()
		d := start(t, st, p) // 2 senders: 4 leases at most
		acceptLeased := func() (Message, bool) {
			m := newMessage("+4915112345678")
			req := acceptReq(m, "")
			var ok bool
			if req.Lease, ok = d.Reserve(); !ok {
				t.Fatal("no slot in an idle deliverer")
			}
			res, err := st.Accept(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Lease == nil { // a store that cannot: claimed instead
				d.Unreserve()
				d.Wake()
				return m, false
			}
			d.Adopt(*res.Lease)
			return m, true
		}
		m, leased := acceptLeased()
		if got := <-p.started; got != m.ID {
			t.Fatalf("provider called for %s, want %s", got, m.ID)
		}
		if !leased {
			stopCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			d.Stop(stopCtx)
			t.Log("the store does not lease at accept: the message was claimed and delivered, as checked above")
			return
		}
		// The slots: 4 in all, one held.
		for i := range 3 {
			if _, ok := d.Reserve(); !ok {
				t.Fatalf("slot %d refused", i+2)
			}
		}
		if _, ok := d.Reserve(); ok {
			t.Fatal("a fifth slot granted with 2 senders")
		}
		for range 3 {
			d.Unreserve()
		}
		// A second message waits for a sender in the worker, not in the
		// store; a stop hands both back, attempts kept.
		waiting, _ := acceptLeased()
		if d.Stats().InFlight != 2 || d.Stats().Takeovers != 0 {
			t.Fatalf("stats %+v", d.Stats())
		}
		stopCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		d.Stop(stopCtx)
		for _, id := range []string{m.ID, waiting.ID} {
			if got, _ := st.Get(ctx, id); got.Status != StatusQueued || got.Attempts != 1 {
				t.Fatalf("after stop: %+v", got)
			}
		}
		// Another worker delivers both at once, as any hand-back.
		d2 := start(t, st, okProvider())
		defer d2.Stop(ctx)
		waitStatus(t, st, m.ID, StatusSent)
		if got := waitStatus(t, st, waiting.ID, StatusSent); got.Attempts != 2 {
			t.Fatalf("after hand-back: %+v", got)
		}
	})

	t.Run("a stop right after the provider calls keeps their outcomes", func(t *testing.T) {
		st := setup(t)
		const n = 12
		called := make(chan string, n)
		d := start(t, st, providerFunc(func(ctx context.Context, m Message) error {
			called <- m.ID
			return nil
		}))
		var ids []string
		for i := range n {
			m := newMessage("+49151123456" + itoa(10+i))
			req := acceptReq(m, "")
			req.Lease, _ = d.Reserve()
			res, err := st.Accept(ctx, req)
			switch {
			case err != nil:
				t.Fatal(err)
			case res.Lease != nil:
				d.Adopt(*res.Lease)
			case req.Lease.Owner != "":
				d.Unreserve()
				d.Wake()
			default:
				d.Wake()
			}
			ids = append(ids, m.ID)
		}
		for range n {
			<-called
		}
		// Outcomes may still be on their way to the store: Stop waits
		// for them instead of handing the messages back.
		if err := d.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if got, _ := st.Get(ctx, id); got.Status != StatusSent || got.Attempts != 1 {
				t.Fatalf("after stop: %+v", got)
			}
		}
		if s := d.Stats(); s.Sent != n || s.Released != 0 || s.InFlight != 0 {
			t.Fatalf("stats %+v", s)
		}
	})

	t.Run("a retry waits in the store, not in a sender", func(t *testing.T) {
		st := setup(t)
		failing := accept(t, st)
		d := NewDeliverer(DelivererOptions{
			Store: st, Log: discardLog(), Lease: lease, PollInterval: 10 * time.Millisecond, Senders: 1,
			Retry: provider.RetryPolicy{FirstBackoff: time.Hour, MaxBackoff: time.Hour},
			Provider: providerFunc(func(_ context.Context, m Message) error {
				if m.ID == failing.ID {
					return ErrProviderUnavailable
				}
				return nil
			}),
		})
		failedAfter := time.Now()
		d.Start()
		defer d.Stop(ctx)
		var got Message
		waitFor(t, "the retry recorded", func() bool {
			got, _ = st.Get(ctx, failing.ID)
			return got.NextAttemptAt != nil
		})
		if got.Status != StatusQueued || got.Attempts != 1 || got.LastError != ErrProviderUnavailable.Error() ||
			got.NextAttemptAt.Before(failedAfter.Add(time.Hour)) || got.NextAttemptAt.After(time.Now().Add(time.Hour)) {
			t.Fatalf("waiting for its retry in an hour: %+v", got)
		}
		// The only sender is free: a later message goes at once.
		later := newMessage("+4915100000002")
		if _, err := st.Accept(ctx, acceptReq(later, "")); err != nil {
			t.Fatal(err)
		}
		d.Wake()
		waitStatus(t, st, later.ID, StatusSent)
		waitFor(t, "no lease held", func() bool { return d.Stats().InFlight == 0 })
		if got, _ := st.Get(ctx, failing.ID); got.Status != StatusQueued || got.Attempts != 1 {
			t.Fatalf("retried before its time: %+v", got)
		}
		if s := d.Stats(); s.Retries != 1 || s.Sent != 1 {
			t.Fatalf("stats %+v", s)
		}
	})

	t.Run("a retry survives its worker", func(t *testing.T) {
		st := setup(t)
		m := accept(t, st)
		var calls atomic.Int32
		flaky := providerFunc(func(context.Context, Message) error {
			if calls.Add(1) == 1 {
				return ErrProviderUnavailable
			}
			return nil
		})
		d1 := NewDeliverer(DelivererOptions{
			Store: st, Provider: flaky, Log: discardLog(), Lease: lease, PollInterval: 10 * time.Millisecond,
			Retry: provider.RetryPolicy{FirstBackoff: 500 * time.Millisecond},
		})
		d1.Start()
		var waiting Message
		waitFor(t, "the retry recorded", func() bool {
			waiting, _ = st.Get(ctx, m.ID)
			return waiting.NextAttemptAt != nil
		})
		if err := d1.Stop(ctx); err != nil || d1.Stats().Released != 0 {
			t.Fatalf("stop of the worker that failed the attempt: %v %+v", err, d1.Stats())
		}
		d2 := start(t, st, flaky)
		defer d2.Stop(ctx)
		got := waitStatus(t, st, m.ID, StatusSent)
		due := *waiting.NextAttemptAt
		if got.Attempts != 2 || got.SentAt.Before(due) || got.SentAt.After(due.Add(time.Second)) || d2.Stats().Takeovers != 0 {
			t.Fatalf("retry due %v: %+v, stats %+v", due, got, d2.Stats())
		}
		t.Logf("retried by another worker %v after its due time", got.SentAt.Sub(due).Round(time.Millisecond))
	})

	t.Run("retries then fails; permanent fails at once", func(t *testing.T) {
		st := setup(t)
		temp, perm := accept(t, st), newMessage("+4915100000001")
		st.Accept(ctx, acceptReq(perm, ""))
		p := providerFunc(func(_ context.Context, m Message) error {
			if m.ID == perm.ID {
				return Permanent(errors.New("invalid number"))
			}
			return ErrProviderUnavailable
		})
		d := start(t, st, p)
		defer d.Stop(ctx)
		got := waitStatus(t, st, temp.ID, StatusFailed)
		if got.Attempts != provider.DefaultMaxAttempts || got.LastError != ErrProviderUnavailable.Error() {
			t.Fatalf("temporary: %+v", got)
		}
		got = waitStatus(t, st, perm.ID, StatusFailed)
		if got.Attempts != 1 || got.LastError != "invalid number" {
			t.Fatalf("permanent: %+v", got)
		}
		// The record is final a moment before the deliverer counts it.
		waitFor(t, "both failures counted", func() bool { return d.Stats().Failed == 2 })
		if s := d.Stats(); s.Retries != provider.DefaultMaxAttempts-1 || s.InFlight != 0 {
			t.Fatalf("stats %+v", s)
		}
	})
}
