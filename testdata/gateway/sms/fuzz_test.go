package sms

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzSend feeds POST /api/sms/send arbitrary bodies and Idempotency-Keys
// on the embedded store: every answer is one of the documented statuses
// with a JSON body, and every 202 names a stored message (a replayed one
// included). Seeds: testdata/fuzz/FuzzSend and the ones below.
func FuzzSend(f *testing.F) {
	f.Add(`{"phone":"+4915112345678","content":"hi"}`, "")
	f.Add(`{"phone":"+4915112345678","template":"verify_code","params":{"code":"4711"}}`, "order-17")
	f.Add(`{"phone":"4915112345678","content":"hi"}`, "key with space")
	f.Add(`{"phone":"+49","content":""}`, "k")
	f.Add(`[]`, strings.Repeat("k", 300))
	f.Add(`{"phone":"+4915112345678","content":"hi","send_at":"2099-01-01T00:00:00Z"}`, "")
	f.Add(`{"phone":"+4915112345678","content":"hi","send_at":"`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`"}`, "later")
	g := newTestGateway(f, Config{}, Hooks{})
	h := g.Handler()
	f.Fuzz(func(t *testing.T, body, key string) {
		req := httptest.NewRequest("POST", "/api/sms/send", strings.NewReader(body))
		req.Header.Set("Content-Type", jsonCT)
		if strings.IndexFunc(key, func(r rune) bool { return r == '\r' || r == '\n' || r == 0 }) < 0 {
			req.Header.Set(HeaderIdempotencyKey, key)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 202, 400, 413, 422, 429:
		default:
			t.Fatalf("status %d for body %q key %q: %s", rec.Code, body, key, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("reply is not JSON: %q", rec.Body)
		}
		if rec.Code == http.StatusAccepted {
			var r SendReply
			json.Unmarshal(rec.Body.Bytes(), &r)
			if _, err := g.store.Get(context.Background(), r.ID); err != nil {
				t.Fatalf("202 with id %q but Get: %v", r.ID, err)
			}
		}
	})
}

// FuzzParseSendAt: any send_at either is refused naming the field, or is a
// time within [now, now+MaxScheduleAhead].
func FuzzParseSendAt(f *testing.F) {
	for _, s := range []string{"", "2026-12-05T13:00:00Z", "2026-12-05T13:00:00.5+08:00", "2026-13-40T99:00:00Z", "now", "2026-12-05T13:00:00"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		at, ferr := parseSendAt(s, now)
		switch {
		case ferr != nil:
			if ferr.Field != "send_at" || at != nil {
				t.Fatalf("%q: %v %+v", s, at, ferr)
			}
		case s == "":
			if at != nil {
				t.Fatalf("empty send_at gave %v", at)
			}
		case at == nil || at.Before(now) || at.After(now.Add(MaxScheduleAhead)):
			t.Fatalf("%q accepted as %v", s, at)
		}
	})
}
