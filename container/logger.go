package container

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unicode/utf8"

	"github.com/nodeagent/node-agent/container/wire"
)

// Logger returns the worker's logger. Under an agent its records go to the
// agent, which writes them to the service log with their level and call
// site (FILE:LINE), attributes rendered as key=value on the same line; a
// multi-line message (a stack trace) stays one record, and one longer than
// MaxMessage bytes is cut and ends with "…[cut]". Standalone, records go
// to stderr. The level starts at the agent's --applog-level and follows
// `tars.setloglevel`; a record below it costs neither formatting nor
// allocation in the library (slog asks Enabled first: about 20 ns). Only
// the call site may allocate, to box a variable into Debug's ...any (as
// with any slog logger); LogAttrs with typed attributes (slog.Int) does not.
func (w *Worker) Logger() *slog.Logger { return w.logger }

// MaxMessage is the longest message (attributes included) a record of
// Logger carries to the agent; the agent's log records are at most 1 MiB.
const MaxMessage = 1 << 20

// cutMark ends a message cut at MaxMessage, as in the agent's logs.
const cutMark = "…[cut]"

func (w *Worker) newLogHandler() slog.Handler {
	if w.conn == nil {
		return slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: w.level, AddSource: true})
	}
	return &agentHandler{w: w}
}

// agentHandler sends each record to the agent as one KindLog frame.
type agentHandler struct {
	w      *Worker
	prefix string // rendered attributes of WithAttrs
	group  string // dotted group prefix of WithGroup
}

func (h *agentHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.w.level.Level()
}

func (h *agentHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	b.WriteString(h.prefix)
	r.Attrs(func(a slog.Attr) bool {
		wire.AppendAttr(&b, h.group, a)
		return true
	})
	rec := wire.Log{Time: r.Time.UnixMilli(), Level: levelName(r.Level), Message: cut(b.String(), MaxMessage)}
	if r.PC != 0 {
		f, _ := runtime.CallersFrames([]uintptr{r.PC}).Next()
		rec.File, rec.Line = filepath.Base(f.File), f.Line
	}
	err := h.w.send(wire.KindLog, rec)
	if errors.Is(err, wire.ErrFrameTooLarge) {
		// Escaping made the frame too big (control characters take six
		// bytes in JSON): send a shorter cut, which always fits.
		rec.Message = cut(rec.Message, wire.MaxFrameSize/8)
		err = h.w.send(wire.KindLog, rec)
	}
	return err
}

// cut returns s, or its first bytes up to a character boundary followed
// by cutMark, at most n bytes in all.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n - len(cutMark)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + cutMark
}

func (h *agentHandler) WithAttrs(as []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.prefix)
	for _, a := range as {
		wire.AppendAttr(&b, h.group, a)
	}
	return &agentHandler{w: h.w, prefix: b.String(), group: h.group}
}

func (h *agentHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &agentHandler{w: h.w, prefix: h.prefix, group: h.group + name + "."}
}

func levelName(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "DEBUG"
	case l < slog.LevelWarn:
		return "INFO"
	case l < slog.LevelError:
		return "WARN"
	}
	return "ERROR"
}
