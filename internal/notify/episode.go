package notify

import (
	"context"
	"log/slog"
)

// logRecord logs msg with args (slog key-value pairs) at level on l; a nil
// l discards.
func logRecord(l *slog.Logger, level slog.Level, msg string, args ...any) {
	if l != nil {
		l.Log(context.Background(), level, msg, args...)
	}
}

// episode logs a failing remote call once per outage: the first failure,
// then nothing until a call succeeds again, which is logged too. It is
// owned by one goroutine.
type episode struct {
	what    string // "keepAlive to tarsnode X"
	log     *slog.Logger
	failing bool
}

// result records the outcome of one call.
func (e *episode) result(err error) {
	switch {
	case err != nil && !e.failing:
		e.failing = true
		logRecord(e.log, slog.LevelWarn, e.what+" failed", "err", err, "next", "not logged until it works again")
	case err == nil && e.failing:
		e.failing = false
		logRecord(e.log, slog.LevelInfo, e.what+" works again")
	}
}
