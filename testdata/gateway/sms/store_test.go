package sms

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/sms/smstest"
)

// The store contract, run against both backends: TestSQLiteStore and
// TestRedisStore (a real redis-server of the test's own).

func TestSQLiteStore(t *testing.T) {
	testStore(t, func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "sms.db") })
}

func TestRedisStore(t *testing.T) {
	testStore(t, func(t *testing.T) string { return smstest.StartRedis(t).URL() })
}

// testStore runs the contract; spec returns a fresh store's spec.
func testStore(t *testing.T, spec func(t *testing.T) string) {
	open := func(t *testing.T, spec string) Store {
		t.Helper()
		st, err := OpenStore(context.Background(), spec, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	ctx := context.Background()
	claim := func(t *testing.T, st Store, owner string, lease time.Duration) []Lease {
		t.Helper()
		ls, err := st.Claim(ctx, ClaimRequest{Owner: owner, Max: 100, Lease: lease, GiveUpAfter: 3, Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return ls
	}

	t.Run("accept, get, rate limit, idempotency", func(t *testing.T) {
		st := open(t, spec(t))
		m := newMessage("+4915112345678")
		res, err := st.Accept(ctx, acceptReq(m, "k1"))
		if err != nil || res.ID != m.ID || res.Replayed || res.RetryAfter != 0 {
			t.Fatalf("accept: %+v %v", res, err)
		}
		got, err := st.Get(ctx, m.ID)
		if err != nil || got.Status != StatusQueued || got.Phone != m.Phone || got.Attempts != 0 || !got.CreatedAt.Equal(m.CreatedAt) {
			t.Fatalf("get: %+v %v", got, err)
		}
		// The same key: the first answer again, nothing new stored.
		again := newMessage(m.Phone)
		res, err = st.Accept(ctx, acceptReq(again, "k1"))
		if err != nil || res.ID != m.ID || !res.Replayed {
			t.Fatalf("replay: %+v %v", res, err)
		}
		if _, err := st.Get(ctx, again.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a replay stored a record: %v", err)
		}
		// The same key for another message: refused.
		other := newMessage(m.Phone)
		other.Text = "something else"
		if _, err := st.Accept(ctx, acceptReq(other, "k1")); !errors.Is(err, ErrIdempotencyConflict) {
			t.Fatalf("key reused for another message: %v", err)
		}
		// 3 per minute per phone; the 4th is refused with the wait.
		for i := range 2 {
			if res, err := st.Accept(ctx, acceptReq(newMessage(m.Phone), "")); err != nil || res.RetryAfter != 0 {
				t.Fatalf("message %d: %+v %v", i+2, res, err)
			}
		}
		res, err = st.Accept(ctx, acceptReq(newMessage(m.Phone), ""))
		if err != nil || res.RetryAfter <= 50*time.Second || res.RetryAfter > time.Minute || res.ID != "" {
			t.Fatalf("4th: %+v %v, want refused for about a minute", res, err)
		}
		if _, err := st.Get(ctx, NewID()); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
		if _, err := st.Get(ctx, "../../etc/passwd"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("malformed id: %v", err)
		}
		if s, err := st.Stats(ctx); err != nil || s.Depth != 3 || s.Oldest.IsZero() {
			t.Fatalf("stats: %+v %v", s, err)
		}
	})

	t.Run("max depth", func(t *testing.T) {
		st := open(t, spec(t))
		req := acceptReq(newMessage("+4915100000001"), "")
		req.MaxDepth = 1
		if res, err := st.Accept(ctx, req); err != nil || res.Full {
			t.Fatalf("first: %+v %v", res, err)
		}
		req = acceptReq(newMessage("+4915100000002"), "")
		req.MaxDepth = 1
		if res, err := st.Accept(ctx, req); err != nil || !res.Full {
			t.Fatalf("second: %+v %v, want full", res, err)
		}
		if _, err := st.Get(ctx, req.Message.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a refused message was stored: %v", err)
		}
	})

	t.Run("lease, renew, takeover, fencing, release, final", func(t *testing.T) {
		st := open(t, spec(t))
		m := newMessage("+4915112345678")
		if _, err := st.Accept(ctx, acceptReq(m, "")); err != nil {
			t.Fatal(err)
		}
		const lease = 300 * time.Millisecond
		a := claim(t, st, "a", lease)
		if len(a) != 1 || a[0].Message.ID != m.ID || a[0].Message.Status != StatusSending || a[0].Message.Attempts != 1 || a[0].Takeover {
			t.Fatalf("claim: %+v", a)
		}
		if b := claim(t, st, "b", lease); len(b) != 0 {
			t.Fatalf("claimed while leased: %+v", b)
		}
		// Renewing keeps it from b past the first lease.
		for range 3 {
			time.Sleep(lease / 2)
			if lost, err := st.Renew(ctx, "a", a, lease); err != nil || len(lost) != 0 {
				t.Fatalf("renew: %v %v", lost, err)
			}
			if b := claim(t, st, "b", lease); len(b) != 0 {
				t.Fatalf("claimed a renewed lease: %+v", b)
			}
		}
		// a stops renewing (it died): b takes over after the lease.
		var b []Lease
		waitFor(t, "b to take the expired lease over", func() bool {
			b = claim(t, st, "b", lease)
			return len(b) > 0
		})
		if len(b) != 1 || !b[0].Takeover || b[0].Message.Attempts != 2 {
			t.Fatalf("takeover: %+v", b)
		}
		// a comes back: it holds nothing, writes nothing.
		if lost, err := st.Renew(ctx, "a", a, lease); err != nil || len(lost) != 1 {
			t.Fatalf("renew of a lost lease: %v %v", lost, err)
		}
		stale := a[0].Message
		stale.Status = StatusFailed
		if held, err := st.Update(ctx, "a", a[0], stale); err != nil || held {
			t.Fatalf("update by the old owner: held=%v %v", held, err)
		}
		// b hands it back; c claims it at once, not as a takeover.
		if held, err := st.Release(ctx, "b", b[0], b[0].Message); err != nil || !held {
			t.Fatalf("release: %v %v", held, err)
		}
		if got, _ := st.Get(ctx, m.ID); got.Status != StatusQueued || got.Attempts != 2 {
			t.Fatalf("after release: %+v", got)
		}
		c := claim(t, st, "c", lease)
		if len(c) != 1 || c[0].Takeover || c[0].Message.Attempts != 3 {
			t.Fatalf("claim after release: %+v", c)
		}
		done := c[0].Message
		now := time.Now()
		done.Status, done.SentAt, done.UpdatedAt = StatusSent, &now, now
		if held, err := st.Update(ctx, "c", c[0], done); err != nil || !held {
			t.Fatalf("final update: %v %v", held, err)
		}
		got, _ := st.Get(ctx, m.ID)
		if got.Status != StatusSent || got.SentAt == nil || got.Attempts != 3 {
			t.Fatalf("sent record: %+v", got)
		}
		time.Sleep(lease + 50*time.Millisecond)
		if d := claim(t, st, "d", lease); len(d) != 0 {
			t.Fatalf("a sent message was claimed again: %+v", d)
		}
		if s, err := st.Stats(ctx); err != nil || s.Depth != 0 {
			t.Fatalf("stats: %+v %v", s, err)
		}
	})

	t.Run("lease at accept", func(t *testing.T) {
		st := open(t, spec(t))
		const lease = 300 * time.Millisecond
		m := newMessage("+4915112345678")
		req := acceptReq(m, "k")
		req.Lease = LeaseRequest{Owner: "a", Duration: lease}
		res, err := st.Accept(ctx, req)
		if err != nil || res.ID != m.ID {
			t.Fatalf("accept: %+v %v", res, err)
		}
		got, _ := st.Get(ctx, m.ID)
		if res.Lease == nil { // a store that cannot (Redis): queued for Claim
			if got.Status != StatusQueued || got.Attempts != 0 {
				t.Fatalf("not leased but %+v", got)
			}
			if a := claim(t, st, "a", lease); len(a) != 1 || a[0].Message.ID != m.ID {
				t.Fatalf("claim of a message accepted without its lease: %+v", a)
			}
			return
		}
		l := *res.Lease
		if l.Message.ID != m.ID || l.Message.Status != StatusSending || l.Message.Attempts != 1 || l.Takeover ||
			got.Status != StatusSending || got.Attempts != 1 {
			t.Fatalf("lease %+v, record %+v", l, got)
		}
		// Held like a claimed lease: nobody else claims it, a replay of
		// the key leases nothing, the owner renews and finishes it.
		if b := claim(t, st, "b", lease); len(b) != 0 {
			t.Fatalf("claimed while leased at accept: %+v", b)
		}
		again := acceptReq(newMessage(m.Phone), "k")
		again.Lease = req.Lease
		if res, err := st.Accept(ctx, again); err != nil || !res.Replayed || res.ID != m.ID || res.Lease != nil {
			t.Fatalf("replay: %+v %v", res, err)
		}
		if lost, err := st.Renew(ctx, "a", []Lease{l}, lease); err != nil || len(lost) != 0 {
			t.Fatalf("renew: %v %v", lost, err)
		}
		done := l.Message
		now := time.Now()
		done.Status, done.SentAt, done.UpdatedAt = StatusSent, &now, now
		if held, err := st.Update(ctx, "a", l, done); err != nil || !held {
			t.Fatalf("final update: %v %v", held, err)
		}
		// Its owner dies: taken over once the lease expires, as after Claim.
		dead := newMessage("+4915112345679")
		req = acceptReq(dead, "")
		req.Lease = LeaseRequest{Owner: "dead", Duration: lease}
		if res, err := st.Accept(ctx, req); err != nil || res.Lease == nil {
			t.Fatalf("accept: %+v %v", res, err)
		}
		var b []Lease
		waitFor(t, "b to take the expired lease over", func() bool {
			b = claim(t, st, "b", lease)
			return len(b) > 0
		})
		if len(b) != 1 || b[0].Message.ID != dead.ID || !b[0].Takeover || b[0].Message.Attempts != 2 {
			t.Fatalf("takeover: %+v", b)
		}
		// A scheduled message is never leased at accept.
		sched := newMessage("+4915112345670")
		at := time.Now().Add(time.Hour)
		sched.SendAt = &at
		req = acceptReq(sched, "")
		req.Lease = LeaseRequest{Owner: "a", Duration: lease}
		if res, err := st.Accept(ctx, req); err != nil || res.Lease != nil {
			t.Fatalf("scheduled accept: %+v %v", res, err)
		}
		if got, _ := st.Get(ctx, sched.ID); got.Status != StatusQueued || got.Attempts != 0 {
			t.Fatalf("scheduled record: %+v", got)
		}
	})

	t.Run("scheduled: held until send_at, then claimed", func(t *testing.T) {
		st := open(t, spec(t))
		m := newMessage("+4915112345678")
		at := time.Now().Add(400 * time.Millisecond)
		m.SendAt = &at
		if _, err := st.Accept(ctx, acceptReq(m, "")); err != nil {
			t.Fatal(err)
		}
		got, err := st.Get(ctx, m.ID)
		if err != nil || got.Status != StatusQueued || got.SendAt == nil || !got.SendAt.Equal(at) ||
			got.NextAttemptAt == nil || !got.NextAttemptAt.Equal(at) {
			t.Fatalf("scheduled record: %+v %v", got, err)
		}
		if s, err := st.Stats(ctx); err != nil || s.Depth != 1 || !s.Oldest.IsZero() {
			t.Fatalf("stats before its time: %+v %v, want depth 1 and nothing due", s, err)
		}
		for time.Now().Before(at) {
			if l := claim(t, st, "early", time.Second); len(l) != 0 {
				t.Fatalf("claimed %v before its send_at: %+v", time.Until(at), l)
			}
			time.Sleep(20 * time.Millisecond)
		}
		var l []Lease
		waitFor(t, "the claim at send_at", func() bool { l = claim(t, st, "w", time.Second); return len(l) == 1 })
		if l[0].Message.ID != m.ID || l[0].Message.Attempts != 1 || l[0].Message.NextAttemptAt != nil || l[0].Takeover {
			t.Fatalf("claim at send_at: %+v", l[0])
		}
	})

	t.Run("release until a next attempt time", func(t *testing.T) {
		st := open(t, spec(t))
		m := newMessage("+4915112345678")
		st.Accept(ctx, acceptReq(m, ""))
		a := claim(t, st, "a", time.Second)
		if len(a) != 1 {
			t.Fatalf("claim: %+v", a)
		}
		retry := a[0].Message
		next := time.Now().Add(300 * time.Millisecond)
		retry.LastError, retry.NextAttemptAt, retry.UpdatedAt = "provider down", &next, time.Now()
		if held, err := st.Release(ctx, "a", a[0], retry); err != nil || !held {
			t.Fatalf("release: %v %v", held, err)
		}
		got, _ := st.Get(ctx, m.ID)
		if got.Status != StatusQueued || got.Attempts != 1 || got.LastError != "provider down" || got.NextAttemptAt == nil || !got.NextAttemptAt.Equal(next) {
			t.Fatalf("waiting for its next attempt: %+v", got)
		}
		if b := claim(t, st, "b", time.Second); len(b) != 0 && time.Now().Before(next) {
			t.Fatalf("claimed before its next attempt: %+v", b)
		}
		var b []Lease
		waitFor(t, "the claim at the next attempt", func() bool { b = claim(t, st, "b", time.Second); return len(b) == 1 })
		if time.Now().Before(next) || b[0].Message.Attempts != 2 || b[0].Takeover || b[0].Message.LastError != "provider down" {
			t.Fatalf("claim of the retry: %+v", b[0])
		}
	})

	t.Run("cancel", func(t *testing.T) {
		st := open(t, spec(t))
		now := time.Now()
		later := now.Add(time.Hour)
		scheduled, queued, other := newMessage("+4915100000001"), newMessage("+4915100000002"), newMessage("+4915100000003")
		scheduled.SendAt = &later
		for _, m := range []Message{scheduled, queued, other} {
			if _, err := st.Accept(ctx, acceptReq(m, "")); err != nil {
				t.Fatal(err)
			}
		}
		m, cancelled, err := st.Cancel(ctx, scheduled.ID, now)
		if err != nil || !cancelled || m.Status != StatusCancelled || m.ID != scheduled.ID || m.NextAttemptAt != nil || m.SendAt == nil {
			t.Fatalf("cancel of a scheduled message: %+v %v %v", m, cancelled, err)
		}
		if m, cancelled, err := st.Cancel(ctx, scheduled.ID, now); err != nil || cancelled || m.Status != StatusCancelled {
			t.Fatalf("second cancel: %+v %v %v, want the record, nothing changed, no error", m, cancelled, err)
		}
		if _, cancelled, err := st.Cancel(ctx, queued.ID, now); err != nil || !cancelled {
			t.Fatalf("cancel of a queued message: %v %v", cancelled, err)
		}
		// Neither is ever claimed; the third is, and can no longer be cancelled.
		l := claim(t, st, "w", time.Second)
		if len(l) != 1 || l[0].Message.ID != other.ID {
			t.Fatalf("claim after the cancels: %+v", l)
		}
		if m, cancelled, err := st.Cancel(ctx, other.ID, now); !errors.Is(err, ErrNotCancellable) || cancelled || m.Status != StatusSending {
			t.Fatalf("cancel while sending: %+v %v %v", m, cancelled, err)
		}
		done := l[0].Message
		done.Status, done.SentAt = StatusSent, &now
		st.Update(ctx, "w", l[0], done)
		if m, _, err := st.Cancel(ctx, other.ID, now); !errors.Is(err, ErrNotCancellable) || m.Status != StatusSent {
			t.Fatalf("cancel after sending: %+v %v", m, err)
		}
		if _, _, err := st.Cancel(ctx, NewID(), now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("cancel of an unknown id: %v", err)
		}
		if _, _, err := st.Cancel(ctx, "../x", now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("cancel of a malformed id: %v", err)
		}
		if s, err := st.Stats(ctx); err != nil || s.Depth != 0 {
			t.Fatalf("stats: %+v %v, want nothing left to deliver", s, err)
		}
	})

	t.Run("give up after too many lost workers", func(t *testing.T) {
		st := open(t, spec(t))
		m := newMessage("+4915112345678")
		st.Accept(ctx, acceptReq(m, ""))
		const lease = 50 * time.Millisecond
		for i := range 3 { // GiveUpAfter 3; each next claim waits for the lease to expire
			var l []Lease
			waitFor(t, "claim "+strconv.Itoa(i+1), func() bool {
				l = claim(t, st, "w"+strconv.Itoa(i), lease)
				return len(l) > 0
			})
			if len(l) != 1 {
				t.Fatalf("claim %d: %+v", i+1, l)
			}
		}
		var got Message
		waitFor(t, "the third lease to expire and the message to fail", func() bool {
			if l := claim(t, st, "last", lease); len(l) != 0 {
				t.Fatalf("claimed past the attempts: %+v", l)
			}
			got, _ = st.Get(ctx, m.ID)
			return got.Status == StatusFailed
		})
		if got.Status != StatusFailed || !strings.Contains(got.LastError, "workers were lost") {
			t.Fatalf("record: %+v", got)
		}
	})

	t.Run("rate limit across processes", func(t *testing.T) {
		sp := spec(t)
		open(t, sp) // create the schema or group first
		const procs, keys, rounds = 4, 50, 2
		type helper struct {
			cmd   *exec.Cmd
			stdin io.WriteCloser
			out   *strings.Builder
		}
		var hs []helper
		for range procs {
			cmd := exec.Command(os.Args[0], "-test.run=^$", sp, itoa(keys), itoa(rounds))
			cmd.Env = append(os.Environ(), envHelper+"=store")
			out := new(strings.Builder)
			cmd.Stdout, cmd.Stderr = out, os.Stderr
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill() })
			hs = append(hs, helper{cmd, stdin, out})
		}
		for _, h := range hs {
			io.WriteString(h.stdin, "go\n")
			h.stdin.Close()
		}
		allowed := 0
		for _, h := range hs {
			if err := waitTimeout(h.cmd, 60*time.Second); err != nil {
				t.Fatalf("helper: %v", err)
			}
			n, err := strconv.Atoi(strings.TrimSpace(h.out.String()))
			if err != nil {
				t.Fatalf("helper output %q", h.out.String())
			}
			allowed += n
		}
		if allowed != 3*keys {
			t.Fatalf("%d messages allowed across %d processes for %d phones; want %d", allowed, procs, keys, 3*keys)
		}
	})
}

func TestOpenStoreErrors(t *testing.T) {
	if _, err := OpenStore(context.Background(), "mysql://x", ""); err == nil || !strings.Contains(err.Error(), "mysql://x") {
		t.Fatalf("unknown scheme: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := OpenStore(ctx, "redis://:secret@127.0.0.1:1/0", "")
	if err == nil || !strings.Contains(err.Error(), "redis://:xxxxx@127.0.0.1:1/0") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("unreachable redis: %v, want the URL without its password", err)
	}
}

func TestNewIDSortsByTime(t *testing.T) {
	at := time.Date(2026, 12, 5, 15, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	prev := ""
	for i := range 2000 {
		id := newIDAt(at.Add(time.Duration(i) * 37 * time.Millisecond / 8))
		if !validID(id) || seen[id] {
			t.Fatalf("id %d %q: valid %v, repeated %v", i, id, validID(id), seen[id])
		}
		if id[:10] < prev[:min(10, len(prev))] {
			t.Fatalf("id %d %q sorts before the one made earlier, %q", i, id, prev)
		}
		seen[id], prev = true, id
	}
	// Made in the same millisecond: the same time prefix, random after it.
	a, b := newIDAt(at), newIDAt(at)
	if a[:10] != b[:10] || a[10:] == b[10:] {
		t.Fatalf("same-millisecond ids %q %q", a, b)
	}
}
