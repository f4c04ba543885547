package sms

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// Response headers set on every reply, so clients can see which worker answered.
const (
	HeaderWorkerID  = "X-Worker-Id"
	HeaderWorkerPID = "X-Worker-Pid"
)

// queueFullRetryAfter is the Retry-After of a 503 for a full queue.
const queueFullRetryAfter = time.Second

// ErrorBody is the JSON body of every error reply. Field names the offending
// request field ("phone", "params.code", ...) and is omitted when the error is
// not about one field.
type ErrorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// SendReply is the 202 body of POST /api/sms/send.
type SendReply struct {
	ID     string `json:"id"`
	Status Status `json:"status"`
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
	mux.HandleFunc("/api/sms/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "send" {
			methodNotAllowed(w, "POST")
			return
		}
		methodNotAllowed(w, "GET, HEAD")
	})
	mux.HandleFunc("GET /healthz", g.handleHealth)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { methodNotAllowed(w, "GET, HEAD") })
	if g.cfg.Faults {
		mux.HandleFunc("POST /debug/fault/{name}", g.handleFault)
		mux.HandleFunc("/debug/fault/{name}", func(w http.ResponseWriter, r *http.Request) { methodNotAllowed(w, "POST") })
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, ErrorBody{Error: "no such endpoint: " + r.URL.Path})
	})
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
	grant, wait, ok, err := g.limiter.Allow(v.phoneKey)
	if err != nil {
		g.internalError(w, "rate limiter", err)
		return
	}
	if !ok {
		w.Header().Set("Retry-After", retryAfterSeconds(wait))
		writeJSON(w, http.StatusTooManyRequests, ErrorBody{
			Error: fmt.Sprintf("rate limit: at most %d messages per %v to one phone", g.cfg.RateLimit, g.cfg.RateWindow),
			Field: "phone",
		})
		return
	}
	now := g.hooks.Now()
	m := Message{
		ID: NewID(), Phone: req.Phone, Template: req.Template, Text: v.text,
		Worker: g.cfg.WorkerID, CreatedAt: now, UpdatedAt: now,
	}
	switch err := g.queue.Submit(m); {
	case err == nil:
		g.log.Debug("sms accepted", "id", m.ID, "template", m.Template)
		writeJSON(w, http.StatusAccepted, SendReply{ID: m.ID, Status: StatusQueued})
	case errors.Is(err, ErrQueueFull), errors.Is(err, ErrQueueClosed):
		if rerr := g.limiter.Refund(grant); rerr != nil {
			g.log.Warn("refunding rate limit", "err", rerr)
		}
		w.Header().Set("Retry-After", retryAfterSeconds(queueFullRetryAfter))
		writeJSON(w, http.StatusServiceUnavailable, ErrorBody{Error: err.Error()})
	default:
		g.limiter.Refund(grant)
		g.internalError(w, "queueing message", err)
	}
}

// handleStatus serves GET /api/sms/{id} from the shared store.
func (g *Gateway) handleStatus(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	m, err := g.store.Get(id)
	switch {
	case errors.Is(err, ErrNotFound):
		writeJSON(w, http.StatusNotFound, ErrorBody{Error: "unknown message id", Field: "id"})
	case err != nil:
		g.internalError(w, "reading message", err)
	default:
		writeJSON(w, http.StatusOK, m)
	}
}

func (g *Gateway) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, HealthReply{Status: "ok", Worker: g.cfg.WorkerID, PID: g.pid})
}

func (g *Gateway) internalError(w http.ResponseWriter, what string, err error) {
	g.log.Error(what, "err", err)
	writeJSON(w, http.StatusInternalServerError, ErrorBody{Error: "internal error: " + what})
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
