package sms

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseSendAt(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"", true},
		{"2026-12-05T12:00:00Z", true}, // now itself is not the past
		{"2026-12-05T13:00:00.250+01:00", true},
		{"2026-12-12T12:00:00Z", true}, // exactly 7 days ahead
		{"2026-12-12T12:00:00.000000001Z", false},
		{"2026-12-05T11:59:59Z", false},
		{"2026-12-05 13:00:00Z", false},
		{"2026-12-05T13:00:00", false},
		{"1733400000", false},
	} {
		at, ferr := parseSendAt(c.in, now)
		if (ferr == nil) != c.ok {
			t.Errorf("%q: %v, want ok=%v", c.in, ferr, c.ok)
			continue
		}
		if ferr != nil && (ferr.Field != "send_at" || ferr.Message == "") {
			t.Errorf("%q: error %+v should name send_at", c.in, ferr)
		}
		if c.ok && (at == nil) != (c.in == "") {
			t.Errorf("%q: %v", c.in, at)
		}
	}
}

// TestScheduledSendAndCancel drives the API: a scheduled message is
// answered 202 with its send_at, shows it while it waits, goes out at its
// time and not before; DELETE cancels one before its time (and again,
// harmlessly), and refuses one that is sending or sent.
func TestScheduledSendAndCancel(t *testing.T) {
	p := newBlockingProvider()
	counts := new(countingMetrics)
	g := newTestGateway(t, Config{}, Hooks{Provider: p, Metrics: counts})
	h := g.Handler()
	at := time.Now().Add(500 * time.Millisecond).UTC().Truncate(time.Millisecond)
	schedule := func(phone string) SendReply {
		rec := do(h, "POST", "/api/sms/send", jsonCT, `{"phone":"`+phone+`","content":"hi","send_at":"`+at.Format(time.RFC3339Nano)+`"}`)
		r := decode[SendReply](t, rec)
		if rec.Code != http.StatusAccepted || r.Status != StatusQueued || r.SendAt == nil || !r.SendAt.Equal(at) {
			t.Fatalf("scheduled send: %d %s", rec.Code, rec.Body)
		}
		return r
	}
	kept, dropped := schedule("+4915100000001"), schedule("+4915100000002")
	m := decode[Message](t, do(h, "GET", "/api/sms/"+kept.ID, "", ""))
	if m.Status != StatusQueued || m.SendAt == nil || !m.SendAt.Equal(at) || m.NextAttemptAt == nil || !m.NextAttemptAt.Equal(at) {
		t.Fatalf("record of a scheduled message: %+v", m)
	}

	rec := do(h, "DELETE", "/api/sms/"+dropped.ID, "", "")
	if m := decode[Message](t, rec); rec.Code != http.StatusOK || m.Status != StatusCancelled || m.ID != dropped.ID {
		t.Fatalf("cancel before its time: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "DELETE", "/api/sms/"+dropped.ID, "", ""); rec.Code != http.StatusOK || decode[Message](t, rec).Status != StatusCancelled {
		t.Fatalf("second cancel: %d %s", rec.Code, rec.Body)
	}
	if n := counts.get(MetricCancelled); n != 1 {
		t.Fatalf("%s = %v after a cancel and its repeat, want 1", MetricCancelled, n)
	}

	g.deliverer.Start()
	defer g.deliverer.Stop(context.Background())
	var id string
	select {
	case id = <-p.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the scheduled message was not sent")
	}
	if started := time.Now(); id != kept.ID || started.Before(at) {
		t.Fatalf("provider got %s at %v; want %s not before %v", id, started, kept.ID, at)
	}
	rec = do(h, "DELETE", "/api/sms/"+kept.ID, "", "")
	if e := decode[ErrorBody](t, rec); rec.Code != http.StatusConflict || e.Field != "id" {
		t.Fatalf("cancel while sending: %d %+v", rec.Code, e)
	}
	close(p.release)
	waitFor(t, "sent", func() bool { return decode[Message](t, do(h, "GET", "/api/sms/"+kept.ID, "", "")).Status == StatusSent })
	if rec := do(h, "DELETE", "/api/sms/"+kept.ID, "", ""); rec.Code != http.StatusConflict {
		t.Fatalf("cancel after sending: %d %s", rec.Code, rec.Body)
	}
	select {
	case id := <-p.started:
		t.Fatalf("the provider was called again, for %s", id)
	case <-time.After(100 * time.Millisecond):
	}
	if m := decode[Message](t, do(h, "GET", "/api/sms/"+dropped.ID, "", "")); m.Status != StatusCancelled || m.Attempts != 0 {
		t.Fatalf("cancelled message: %+v", m)
	}
}

// TestSendAtIsPartOfTheIdempotencyFingerprint: the same key with the same
// send_at is a replay; with another send_at it is another message (422).
func TestSendAtIsPartOfTheIdempotencyFingerprint(t *testing.T) {
	g := newTestGateway(t, Config{}, Hooks{})
	h := g.Handler()
	send := func(at string) (int, SendReply) {
		req := `{"phone":"+4915112345678","content":"hi","send_at":"` + at + `"}`
		r := httptest.NewRequest("POST", "/api/sms/send", strings.NewReader(req))
		r.Header.Set("Content-Type", jsonCT)
		r.Header.Set(HeaderIdempotencyKey, "k1")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusAccepted {
			return rec.Code, SendReply{}
		}
		return rec.Code, decode[SendReply](t, rec)
	}
	at := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	code1, first := send(at)
	code2, again := send(at)
	if code1 != 202 || code2 != 202 || again.ID != first.ID || again.SendAt == nil {
		t.Fatalf("replay: %d %+v, %d %+v", code1, first, code2, again)
	}
	if code, _ := send(time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)); code != http.StatusUnprocessableEntity {
		t.Fatalf("same key, other send_at: %d, want 422", code)
	}
}

// countingMetrics sums every metric it is given.
type countingMetrics struct {
	mu   sync.Mutex
	sums map[string]float64
}

func (c *countingMetrics) Add(name string, n float64) { c.Observe(name, n) }

func (c *countingMetrics) Observe(name string, v float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sums == nil {
		c.sums = map[string]float64{}
	}
	c.sums[name] += v
}

func (c *countingMetrics) get(name string) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sums[name]
}
