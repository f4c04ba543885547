package sms

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/auth"
	"github.com/nodeagent/node-agent/testdata/gateway/provider"
)

// Response headers set on every reply, so clients can see which worker answered.
const (
	HeaderWorkerID  = "X-Worker-Id"
	HeaderWorkerPID = "X-Worker-Pid"
)

// unavailableRetryAfter is the Retry-After of a 503: a full queue or an
// unreachable store.
const unavailableRetryAfter = time.Second

// acceptTimeout bounds the store's part of one send.
const acceptTimeout = 3 * time.Second

// Idempotency-Key: a client's key for one message; a repeated request with
// the same key gets the first answer again. HeaderReplayed marks such an answer.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderReplayed       = "Idempotent-Replayed"
	MaxIdempotencyKeyLen = 255
)

// ErrorBody is the JSON body of every error reply. Field names the offending
// request field ("phone", "params.code", ...) and is omitted when the error is
// not about one field.
type ErrorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// SendReply is the 202 body of POST /api/sms/send.
type SendReply struct {
	ID     string     `json:"id"`
	Status Status     `json:"status"`
	SendAt *time.Time `json:"send_at,omitempty"` // the scheduled time, when the request had one
}

// HealthReply is the body of GET /healthz.
type HealthReply struct {
	Status string `json:"status"`
	Worker int    `json:"worker"`
	PID    int    `json:"pid"`
}

func (g *Gateway) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/sms/send", g.handleSend)
	mux.HandleFunc("GET /api/sms/{id}", g.handleStatus)
	mux.HandleFunc("DELETE /api/sms/{id}", g.handleCancel)
	mux.HandleFunc("/api/sms/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "send" {
			methodNotAllowed(w, "POST")
			return
		}
		methodNotAllowed(w, "GET, HEAD, DELETE")
	})
	if g.hooks.Receipts != nil {
		mux.Handle(provider.ReceiptPattern, g.hooks.Receipts)
	}
	mux.HandleFunc("GET /healthz", g.handleHealth)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { methodNotAllowed(w, "GET, HEAD") })
	if g.cfg.Faults {
		mux.HandleFunc("POST /debug/fault/{name}", g.handleFault)
		mux.HandleFunc("/debug/fault/{name}", func(w http.ResponseWriter, r *http.Request) { methodNotAllowed(w, "POST") })
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, ErrorBody{Error: "no such endpoint: " + r.URL.Path})
	})
	if g.guard != nil {
		return g.withWorkerHeaders(g.guard.Protect(mux))
	}
	return g.withWorkerHeaders(mux)
}

// withWorkerHeaders sets X-Worker-Id and X-Worker-Pid and counts in-flight requests.
func (g *Gateway) withWorkerHeaders(next http.Handler) http.Handler {
	id, pid := strconv.Itoa(g.cfg.WorkerID), strconv.Itoa(g.pid)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.inFlight.Add(1)
		defer g.inFlight.Add(-1)
		w.Header().Set(HeaderWorkerID, id)
		w.Header().Set(HeaderWorkerPID, pid)
		next.ServeHTTP(w, r)
	})
}

// handleSend validates, rate-limits and queues one message.
func (g *Gateway) handleSend(w http.ResponseWriter, r *http.Request) {
	if status, err := checkContentType(r); err != nil {
		writeJSON(w, status, ErrorBody{Error: err.Error()})
		return
	}
	req, status, ferr := decodeSend(w, r, g.cfg.MaxBodyBytes)
	if ferr != nil {
		writeJSON(w, status, ErrorBody{Error: ferr.Message, Field: ferr.Field})
		return
	}
	v, err := validate(req, g.templates, g.cfg.MaxContentRunes)
	if err != nil {
		var fe *FieldError
		errors.As(err, &fe)
		writeJSON(w, http.StatusBadRequest, ErrorBody{Error: fe.Message, Field: fe.Field})
		return
	}
	sendAt, ferr := parseSendAt(req.SendAt, g.hooks.Now())
	if ferr != nil {
		writeJSON(w, http.StatusBadRequest, ErrorBody{Error: ferr.Message, Field: ferr.Field})
		return
	}
	key := r.Header.Get(HeaderIdempotencyKey)
	if !validIdempotencyKey(key) {
		writeJSON(w, http.StatusBadRequest, ErrorBody{Error: fmt.Sprintf("must be 1 to %d printable ASCII characters", MaxIdempotencyKeyLen), Field: HeaderIdempotencyKey})
		return
	}
	ticket, refusal := g.admit(r, req.Template)
	if refusal != nil {
		auth.WriteRefusal(w, refusal)
		return
	}
	now := g.hooks.Now()
	m := Message{
		ID: NewID(), Phone: req.Phone, Template: req.Template, Text: v.text,
		Status: StatusQueued, Worker: g.cfg.WorkerID, CreatedAt: now, UpdatedAt: now, SendAt: sendAt,
	}
	ctx, cancel := context.WithTimeout(r.Context(), acceptTimeout)
	defer cancel()
	limit := g.rateLimit()
	var lease LeaseRequest
	reserved := false
	if sendAt == nil { // this worker delivers it, if a sender is free soon
		lease, reserved = g.deliverer.Reserve()
	}
	res, err := g.store.Accept(ctx, AcceptRequest{
		Message: m, PhoneKey: v.phoneKey, IdempotencyKey: key, Fingerprint: fingerprint(m),
		RateLimit: limit.perPhone, RateWindow: limit.window, KeyTTL: g.cfg.KeyTTL, MaxDepth: g.cfg.QueueSize,
		Lease: lease,
	})
	switch {
	case reserved && err == nil && res.Lease != nil:
		g.deliverer.Adopt(*res.Lease)
	case reserved:
		g.deliverer.Unreserve()
	}
	ticket.Done(err == nil && !res.Replayed && !res.Full && res.RetryAfter == 0)
	switch {
	case errors.Is(err, ErrIdempotencyConflict):
		writeJSON(w, http.StatusUnprocessableEntity, ErrorBody{Error: err.Error(), Field: HeaderIdempotencyKey})
	case err != nil:
		g.storeError("message refused", err)
		w.Header().Set("Retry-After", retryAfterSeconds(unavailableRetryAfter))
		writeJSON(w, http.StatusServiceUnavailable, ErrorBody{Error: "message store unavailable: retry later"})
	case res.Full:
		w.Header().Set("Retry-After", retryAfterSeconds(unavailableRetryAfter))
		writeJSON(w, http.StatusServiceUnavailable, ErrorBody{Error: fmt.Sprintf("queue full (%d messages waiting): retry later", g.cfg.QueueSize)})
	case res.RetryAfter > 0:
		w.Header().Set("Retry-After", retryAfterSeconds(res.RetryAfter))
		writeJSON(w, http.StatusTooManyRequests, ErrorBody{
			Error: fmt.Sprintf("rate limit: at most %d messages per %v to one phone", limit.perPhone, limit.window),
			Field: "phone",
		})
	case res.Replayed:
		w.Header().Set(HeaderReplayed, "true")
		writeJSON(w, http.StatusAccepted, SendReply{ID: res.ID, Status: StatusQueued, SendAt: sendAt})
	default:
		g.hooks.Metrics.Add(MetricAccepted, 1)
		if sendAt == nil && res.Lease == nil {
			g.deliverer.Wake()
		}
		g.log.Debug("sms accepted", "id", m.ID, "template", m.Template, "send_at", sendAt)
		writeJSON(w, http.StatusAccepted, SendReply{ID: m.ID, Status: StatusQueued, SendAt: sendAt})
	}
}

// admit asks the authentication whether the request's application may
// send a message with template ("" for free text) now; without
// authentication everything is admitted.
func (g *Gateway) admit(r *http.Request, template string) (*auth.Ticket, *auth.Refusal) {
	if g.guard == nil {
		return nil, nil
	}
	return g.guard.Admit(r.Context(), template)
}

// storeError logs a failed store call, at most once a second.
func (g *Gateway) storeError(what string, err error) {
	now := time.Now().UnixNano()
	last := g.lastStoreLog.Load()
	if now-last < int64(time.Second) || !g.lastStoreLog.CompareAndSwap(last, now) {
		return
	}
	g.log.Error("store unavailable: "+what+" (answered 503)", "store", g.store.String(), "err", err)
}

// validIdempotencyKey: empty (no key) or 1 to MaxIdempotencyKeyLen
// printable ASCII characters, no spaces.
func validIdempotencyKey(k string) bool {
	if len(k) > MaxIdempotencyKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] > '~' {
			return false
		}
	}
	return true
}

// fingerprint identifies what a message says, to whom and when, so that an
// Idempotency-Key reused for another message is recognised. A message sent
// at once has the fingerprint it had before send_at existed.
func fingerprint(m Message) string {
	s := m.Phone + "\x00" + m.Template + "\x00" + m.Text
	if m.SendAt != nil {
		s += "\x00" + m.SendAt.UTC().Format(time.RFC3339Nano)
	}
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}

// handleStatus serves GET /api/sms/{id} from the shared store.
func (g *Gateway) handleStatus(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	m, err := g.store.Get(r.Context(), id)
	switch {
	case errors.Is(err, ErrNotFound):
		writeJSON(w, http.StatusNotFound, ErrorBody{Error: "unknown message id", Field: "id"})
	case err != nil:
		g.storeError("status not read", err)
		w.Header().Set("Retry-After", retryAfterSeconds(unavailableRetryAfter))
		writeJSON(w, http.StatusServiceUnavailable, ErrorBody{Error: "message store unavailable: retry later"})
	default:
		writeJSON(w, http.StatusOK, m)
	}
}

func (g *Gateway) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, HealthReply{Status: "ok", Worker: g.cfg.WorkerID, PID: g.pid})
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeJSON(w, http.StatusMethodNotAllowed, ErrorBody{Error: "method not allowed; use " + allow})
}

// retryAfterSeconds renders d as a Retry-After value: whole seconds, rounded
// up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// writeJSON writes v with an explicit Content-Length, so a reply is complete
// on the wire as soon as it is flushed.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"internal error: encoding reply"}`)
	}
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}
