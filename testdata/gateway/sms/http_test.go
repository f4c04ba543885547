package sms

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

const jsonCT = "application/json"

// do sends one request to h and returns the recorder.
func do(h http.Handler, method, path, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if ct := rec.Header().Get("Content-Type"); ct != jsonCT {
		t.Fatalf("Content-Type %q, body %q", ct, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	return v
}

func TestSendValidation(t *testing.T) {
	g := newTestGateway(t, Config{MaxBodyBytes: 256, MaxContentRunes: 100}, Hooks{})
	h := g.Handler()
	cases := []struct {
		name, method, path, ct, body string
		status                       int
		field                        string
	}{
		{"bad phone", "POST", "/api/sms/send", jsonCT, `{"phone":"12","content":"x"}`, 400, "phone"},
		{"missing phone", "POST", "/api/sms/send", jsonCT, `{"content":"x"}`, 400, "phone"},
		{"phone not a string", "POST", "/api/sms/send", jsonCT, `{"phone":4915112345678,"content":"x"}`, 400, "phone"},
		{"unknown template", "POST", "/api/sms/send", jsonCT, `{"phone":"+4915112345678","template":"x"}`, 400, "template"},
		{"missing param", "POST", "/api/sms/send", jsonCT, `{"phone":"+4915112345678","template":"verify_code","params":{}}`, 400, "params.code"},
		{"extra param", "POST", "/api/sms/send", jsonCT, `{"phone":"+4915112345678","template":"verify_code","params":{"code":"1","x":"y"}}`, 400, "params.x"},
		{"param not a string", "POST", "/api/sms/send", jsonCT, `{"phone":"+4915112345678","template":"verify_code","params":{"code":5}}`, 400, "params"},
		{"both", "POST", "/api/sms/send", jsonCT, `{"phone":"+4915112345678","template":"verify_code","content":"x"}`, 400, "content"},
		{"neither", "POST", "/api/sms/send", jsonCT, `{"phone":"+4915112345678"}`, 400, "template"},
		{"content too long", "POST", "/api/sms/send", jsonCT, `{"phone":"+4915112345678","content":"` + strings.Repeat("x", 200) + `"}`, 400, "content"},
		{"unknown field", "POST", "/api/sms/send", jsonCT, `{"phone":"+4915112345678","content":"x","priority":1}`, 400, "priority"},
		{"malformed", "POST", "/api/sms/send", jsonCT, `{"phone":`, 400, ""},
		{"not an object", "POST", "/api/sms/send", jsonCT, `[1]`, 400, ""},
		{"trailing data", "POST", "/api/sms/send", jsonCT, `{"phone":"+4915112345678","content":"x"} {}`, 400, ""},
		{"empty body", "POST", "/api/sms/send", jsonCT, ``, 400, ""},
		{"body too large", "POST", "/api/sms/send", jsonCT, `{"phone":"+4915112345678","content":"` + strings.Repeat("x", 300) + `"}`, 413, ""},
		{"no content type", "POST", "/api/sms/send", "", `{"phone":"+4915112345678","content":"x"}`, 415, ""},
		{"form content type", "POST", "/api/sms/send", "application/x-www-form-urlencoded", `phone=1`, 415, ""},
		{"get send", "GET", "/api/sms/send", "", ``, 404, "id"},
		{"put send", "PUT", "/api/sms/send", jsonCT, `{}`, 405, ""},
		{"put status", "PUT", "/api/sms/" + NewID(), jsonCT, `{}`, 405, ""},
		{"delete unknown", "DELETE", "/api/sms/" + NewID(), "", ``, 404, "id"},
		{"delete not an id", "DELETE", "/api/sms/nope", "", ``, 404, "id"},
		{"send_at in the past", "POST", "/api/sms/send", jsonCT, `{"phone":"+4915112345678","content":"x","send_at":"2020-01-01T00:00:00Z"}`, 400, "send_at"},
		{"send_at too far", "POST", "/api/sms/send", jsonCT, `{"phone":"+4915112345678","content":"x","send_at":"2099-01-01T00:00:00Z"}`, 400, "send_at"},
		{"send_at malformed", "POST", "/api/sms/send", jsonCT, `{"phone":"+4915112345678","content":"x","send_at":"tomorrow"}`, 400, "send_at"},
		{"send_at without zone", "POST", "/api/sms/send", jsonCT, `{"phone":"+4915112345678","content":"x","send_at":"2099-01-01T00:00:00"}`, 400, "send_at"},
		{"send_at not a string", "POST", "/api/sms/send", jsonCT, `{"phone":"+4915112345678","content":"x","send_at":1767225600}`, 400, "send_at"},
		{"post healthz", "POST", "/healthz", "", ``, 405, ""},
		{"unknown id", "GET", "/api/sms/" + NewID(), "", ``, 404, "id"},
		{"not an id", "GET", "/api/sms/..%2f..%2fetc", "", ``, 404, "id"},
		{"unknown path", "GET", "/api/other", "", ``, 404, ""},
		{"faults off", "POST", "/debug/fault/crash", "", ``, 404, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := do(h, c.method, c.path, c.ct, c.body)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, c.status, rec.Body)
			}
			e := decode[ErrorBody](t, rec)
			if e.Error == "" || e.Field != c.field {
				t.Fatalf("body %+v, want an error on field %q", e, c.field)
			}
			if c.status == 405 && rec.Header().Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
	if st, err := g.store.Stats(context.Background()); err != nil || st.Depth != 0 {
		t.Fatalf("invalid requests queued messages: %+v %v", st, err)
	}
}

func TestSendAcceptedAndStatus(t *testing.T) {
	g := newTestGateway(t, Config{WorkerID: 7}, Hooks{})
	h := g.Handler()
	rec := do(h, "POST", "/api/sms/send", "application/json; charset=utf-8",
		`{"phone":"+4915112345678","template":"order_shipped","params":{"order_id":"A-17","carrier":"DHL"}}`)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	r := decode[SendReply](t, rec)
	if !validID(r.ID) || r.Status != StatusQueued {
		t.Fatalf("reply %+v", r)
	}
	if rec.Header().Get(HeaderWorkerID) != "7" || rec.Header().Get(HeaderWorkerPID) != strconv.Itoa(g.pid) {
		t.Fatalf("worker headers %v", rec.Header())
	}

	rec = do(h, "GET", "/api/sms/"+r.ID, "", "")
	m := decode[Message](t, rec)
	if rec.Code != 200 || m.ID != r.ID || m.Status != StatusQueued || m.Worker != 7 ||
		m.Phone != "+4915112345678" || m.Text != "Your order A-17 has shipped with DHL." {
		t.Fatalf("status %d, record %+v", rec.Code, m)
	}

	// Delivery, by another worker on the same store, updates what GET shows
	// in this one.
	other := newTestGateway(t, Config{DataDir: g.cfg.DataDir, WorkerID: 8}, Hooks{})
	other.deliverer.Start()
	defer other.deliverer.Stop(context.Background())
	waitFor(t, "delivery by worker 8", func() bool {
		rec = do(h, "GET", "/api/sms/"+r.ID, "", "")
		m = decode[Message](t, rec)
		return m.Status == StatusSent
	})
	if m.Attempts != 1 || m.SentAt == nil || rec.Header().Get(HeaderWorkerID) != "7" {
		t.Fatalf("after delivery: %+v", m)
	}
}

func TestSendIdempotencyKey(t *testing.T) {
	g := newTestGateway(t, Config{}, Hooks{})
	h := g.Handler()
	send := func(key, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/api/sms/send", strings.NewReader(body))
		req.Header.Set("Content-Type", jsonCT)
		req.Header.Set(HeaderIdempotencyKey, key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	body := `{"phone":"+4915112345678","content":"hi"}`
	first := send("order-17", body)
	r1 := decode[SendReply](t, first)
	if first.Code != 202 || first.Header().Get(HeaderReplayed) != "" {
		t.Fatalf("first: %d %v", first.Code, first.Header())
	}
	// Four more with the same key: the first answer each time, and the
	// phone's limit of 3 is not used up by them.
	for i := range 4 {
		rec := send("order-17", body)
		if r := decode[SendReply](t, rec); rec.Code != 202 || r.ID != r1.ID || rec.Header().Get(HeaderReplayed) != "true" {
			t.Fatalf("replay %d: %d %+v", i+1, rec.Code, r)
		}
	}
	if rec := send("order-17", `{"phone":"+4915112345678","content":"other"}`); rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("key reused for another message: %d", rec.Code)
	}
	if rec := send("bad key", body); rec.Code != 400 || decode[ErrorBody](t, rec).Field != HeaderIdempotencyKey {
		t.Fatalf("key with a space: %d", rec.Code)
	}
	for i := range 2 {
		if rec := send("", body); rec.Code != 202 {
			t.Fatalf("message %d without key: %d", i+2, rec.Code)
		}
	}
	if rec := send("", body); rec.Code != 429 {
		t.Fatalf("4th message: %d", rec.Code)
	}
}

func TestSendRateLimited(t *testing.T) {
	clock := newFakeClock()
	g := newTestGateway(t, Config{}, Hooks{Now: clock.Now})
	h := g.Handler()
	send := func(phone string) *httptest.ResponseRecorder {
		return do(h, "POST", "/api/sms/send", jsonCT, `{"phone":"`+phone+`","content":"hi"}`)
	}
	// "+49…" and "49…" are one phone.
	for i, phone := range []string{"+4915112345678", "4915112345678", "+4915112345678"} {
		if rec := send(phone); rec.Code != 202 {
			t.Fatalf("message %d: %d %s", i+1, rec.Code, rec.Body)
		}
		clock.Advance(10 * time.Second)
	}
	rec := send("+4915112345678")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "30" {
		t.Fatalf("4th: %d Retry-After %q; want 429 and 30", rec.Code, rec.Header().Get("Retry-After"))
	}
	if e := decode[ErrorBody](t, rec); e.Field != "phone" {
		t.Fatalf("429 body %+v", e)
	}
	if rec := send("+4915100000000"); rec.Code != 202 {
		t.Fatalf("another phone: %d", rec.Code)
	}
	clock.Advance(29*time.Second + 500*time.Millisecond)
	if rec := send("+4915112345678"); rec.Code != 429 || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("0.5s before: %d Retry-After %q; want 429 and 1 (rounded up)", rec.Code, rec.Header().Get("Retry-After"))
	}
	clock.Advance(500 * time.Millisecond)
	if rec := send("+4915112345678"); rec.Code != 202 {
		t.Fatalf("after the window: %d %s", rec.Code, rec.Body)
	}
}

func TestSendQueueFull(t *testing.T) {
	g := newTestGateway(t, Config{QueueSize: 1}, Hooks{}) // deliverer not started: nothing leaves the queue
	h := g.Handler()
	if rec := do(h, "POST", "/api/sms/send", jsonCT, `{"phone":"+4915112345678","content":"a"}`); rec.Code != 202 {
		t.Fatalf("first: %d", rec.Code)
	}
	rec := do(h, "POST", "/api/sms/send", jsonCT, `{"phone":"+4915100000000","content":"b"}`)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("full: %d Retry-After %q; want 503 and 1", rec.Code, rec.Header().Get("Retry-After"))
	}
	if e := decode[ErrorBody](t, rec); !strings.Contains(e.Error, "queue full") {
		t.Fatalf("503 body %+v", e)
	}
	if st, err := g.store.Stats(context.Background()); err != nil || st.Depth != 1 {
		t.Fatalf("after the 503: %+v %v, want only the first message", st, err)
	}
}

func TestHealthz(t *testing.T) {
	g := newTestGateway(t, Config{WorkerID: 3}, Hooks{})
	for _, method := range []string{"GET", "HEAD"} {
		rec := do(g.Handler(), method, "/healthz", "", "")
		if rec.Code != 200 || rec.Header().Get(HeaderWorkerID) != "3" {
			t.Fatalf("%s: %d %v", method, rec.Code, rec.Header())
		}
	}
	rec := do(g.Handler(), "GET", "/healthz", "", "")
	if h := decode[HealthReply](t, rec); h != (HealthReply{Status: "ok", Worker: 3, PID: g.pid}) {
		t.Fatalf("healthz %+v", h)
	}
}
