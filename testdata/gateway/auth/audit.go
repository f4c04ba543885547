package auth

import (
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// The audit log: one record ("audit") per call to /api/sms/* that was
// accepted (a send answered 202), cancelled (a DELETE answered 2xx) or
// rejected (any 4xx or 5xx), naming the application (the id a request
// claimed, when it did not authenticate), the secret's file name (never
// the secret), the outcome, the status, the reason and the message id.
// Message texts and phone numbers are never logged. Successful reads
// (GET /api/sms/{id}) are not audited.

// recorder keeps the status and the start of the body of a reply.
type recorder struct {
	http.ResponseWriter
	status int
	head   []byte
}

// maxAuditBody is how much of a reply the audit keeps, for its id or error.
const maxAuditBody = 1024

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if n := maxAuditBody - len(r.head); n > 0 {
		r.head = append(r.head, p[:min(n, len(p))]...)
	}
	return r.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// writeRefusal answers a refusal with the API's JSON error body.
func writeRefusal(w http.ResponseWriter, ref *Refusal) {
	body, _ := json.Marshal(struct {
		Error string `json:"error"`
		Field string `json:"field,omitempty"`
	}{ref.Message, ref.Field})
	body = append(body, '\n')
	h := w.Header()
	if ref.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(ref.RetryAfter.Seconds())))))
	}
	if ref.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", Scheme)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(ref.Status)
	w.Write(body)
}

// WriteRefusal answers ref as Protect does, for a handler that got it
// from Admit.
func WriteRefusal(w http.ResponseWriter, ref *Refusal) { writeRefusal(w, ref) }

// appMetric is the name of an application's counter: sms.app.ID.what.
// Ids come from the configuration only, so the names are bounded.
func appMetric(app, what string) string { return "sms.app." + app + "." + what }

// MetricUnauthenticated counts requests refused before an application was
// known: no, malformed or unverifiable credentials, unknown applications.
const MetricUnauthenticated = "sms.auth.rejected"

// audit writes the record of one call and counts it.
func (g *Guard) audit(r *http.Request, c *caller, claimed string, ref *Refusal, rec *recorder) {
	status := rec.status
	outcome := ""
	switch {
	case status >= 400:
		outcome = "rejected"
	case r.Method == http.MethodDelete:
		outcome = "cancelled"
	case r.Method == http.MethodPost && status == http.StatusAccepted:
		outcome = "accepted"
	default:
		return // a read
	}
	attrs := []slog.Attr{
		slog.String("app", claimed), slog.String("outcome", outcome),
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.String("remote", r.RemoteAddr),
	}
	if c != nil {
		attrs = append(attrs, slog.String("key", c.key))
	}
	var reply struct {
		ID    string `json:"id"`
		Error string `json:"error"`
	}
	json.Unmarshal(rec.head, &reply)
	if reply.ID != "" {
		attrs = append(attrs, slog.String("id", reply.ID))
	}
	if outcome == "rejected" {
		attrs = append(attrs, slog.String("reason", reason(ref, c, status)), slog.String("error", truncate(reply.Error, 200)))
	}
	if rec.Header().Get("Idempotent-Replayed") == "true" {
		attrs = append(attrs, slog.Bool("replayed", true))
	}
	g.log.LogAttrs(r.Context(), slog.LevelInfo, "audit", attrs...)

	if c == nil {
		g.metrics.Add(MetricUnauthenticated, 1)
		return
	}
	g.metrics.Add(appMetric(c.app.ID, outcome), 1)
}

// reason is the audit's short code of a rejection: the Guard's own, else
// one derived from the API's status.
func reason(ref *Refusal, c *caller, status int) string {
	switch {
	case ref != nil:
		return ref.Reason
	case c != nil && c.reason != "":
		return c.reason
	}
	switch status {
	case http.StatusBadRequest:
		return "invalid_request"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusConflict:
		return "conflict"
	case http.StatusRequestEntityTooLarge:
		return "body_too_large"
	case http.StatusUnsupportedMediaType:
		return "not_json"
	case http.StatusUnprocessableEntity:
		return "idempotency_conflict"
	case http.StatusTooManyRequests:
		return "phone_rate_limit"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	return "status_" + strconv.Itoa(status)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
