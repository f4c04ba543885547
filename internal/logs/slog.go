package logs

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/nodeagent/node-agent/container/wire"
)

// Handler is a slog.Handler that writes records as TARS lines
// ("time|pid|LEVEL|message key=value…") to a Sink, at the sink's level. Its
// target can be changed while it writes (Redirect); loggers derived with
// WithAttrs or WithGroup follow it too.
type Handler struct {
	target *atomic.Pointer[Sink]
	pid    int
	attrs  string // the rendered attributes of WithAttrs, each " key=value"
	group  string // the WithGroup prefix of keys, "g." or ""
}

// NewHandler returns a Handler writing to sink the records of process pid.
func NewHandler(sink *Sink, pid int) *Handler {
	h := &Handler{target: &atomic.Pointer[Sink]{}, pid: pid}
	h.target.Store(sink)
	return h
}

// Redirect makes h, and every handler derived from it, write to sink.
func (h *Handler) Redirect(sink *Sink) { h.target.Store(sink) }

// LevelOf maps a slog level to the TARS level at or below it.
func LevelOf(l slog.Level) Level {
	switch {
	case l >= slog.LevelError:
		return LevelError
	case l >= slog.LevelWarn:
		return LevelWarn
	case l >= slog.LevelInfo:
		return LevelInfo
	}
	return LevelDebug
}

// Enabled reports whether the sink writes records at l.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool {
	return h.target.Load().Enabled(LevelOf(l))
}

// Handle writes r as one record: its message, then its attributes.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	if h.attrs != "" || r.NumAttrs() > 0 {
		var b strings.Builder
		b.WriteString(msg)
		b.WriteString(h.attrs)
		r.Attrs(func(a slog.Attr) bool {
			wire.AppendAttr(&b, h.group, a)
			return true
		})
		msg = b.String()
	}
	h.target.Load().Write(Record{Time: r.Time, PID: h.pid, Level: LevelOf(r.Level), Message: msg})
	return nil
}

// WithAttrs returns a handler that adds as to every record.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range as {
		wire.AppendAttr(&b, h.group, a)
	}
	c.attrs = b.String()
	return &c
}

// WithGroup returns a handler that qualifies the keys that follow with name.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group += name + "."
	return &c
}
