package sms

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// MaxScheduleAhead is how far ahead a send_at may be.
const MaxScheduleAhead = 7 * 24 * time.Hour

// parseSendAt checks a request's send_at against now: empty means at once
// (nil); otherwise an RFC 3339 time, such as 2026-12-05T14:00:00+01:00,
// neither before now nor more than MaxScheduleAhead after it. A refusal
// names the field "send_at".
func parseSendAt(v string, now time.Time) (*time.Time, *FieldError) {
	if v == "" {
		return nil, nil
	}
	at, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, fieldErr("send_at", "must be an RFC 3339 time such as %s", now.Add(time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339))
	}
	switch {
	case at.Before(now):
		return nil, fieldErr("send_at", "%s is in the past (now %s); leave send_at out to send at once", v, now.UTC().Format(time.RFC3339))
	case at.Sub(now) > MaxScheduleAhead:
		return nil, fieldErr("send_at", "%s is more than %v ahead (at most %s)", v, MaxScheduleAhead, now.Add(MaxScheduleAhead).UTC().Format(time.RFC3339))
	}
	return &at, nil
}

// handleCancel serves DELETE /api/sms/{id}: 200 with the record, status
// cancelled (also when it was cancelled before: a repeated DELETE is
// harmless); 409 with the record's status when the message is sending or
// final; 404 for an unknown id; 503 when the store is unreachable.
func (g *Gateway) handleCancel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ctx, cancel := context.WithTimeout(r.Context(), acceptTimeout)
	defer cancel()
	m, cancelled, err := g.store.Cancel(ctx, id, g.hooks.Now())
	switch {
	case errors.Is(err, ErrNotFound):
		writeJSON(w, http.StatusNotFound, ErrorBody{Error: "unknown message id", Field: "id"})
	case errors.Is(err, ErrNotCancellable):
		writeJSON(w, http.StatusConflict, ErrorBody{Error: "too late to cancel: the message is " + string(m.Status) + " (only a queued one can be)", Field: "id"})
	case err != nil:
		g.storeError("message not cancelled", err)
		w.Header().Set("Retry-After", retryAfterSeconds(unavailableRetryAfter))
		writeJSON(w, http.StatusServiceUnavailable, ErrorBody{Error: "message store unavailable: retry later"})
	default:
		if cancelled {
			g.log.Info("sms cancelled", "id", m.ID, "attempts", m.Attempts)
			g.hooks.Metrics.Add(MetricCancelled, 1)
		}
		writeJSON(w, http.StatusOK, m)
	}
}
