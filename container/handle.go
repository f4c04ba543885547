package container

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"
)

// Handle registers fn to answer the admin command cmd (for example
// "tars.viewstatus" or a command of your own sent with
// `node-agent ctl cmd data`). fn gets the text after the command and returns
// the reply; it runs on its own goroutine and should return within the
// agent's reply deadline (a few seconds). A later Handle for the same command
// replaces the earlier one, including the library's built-in handlers.
func (w *Worker) Handle(cmd string, fn func(data string) string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.handlers[cmd] = fn
}

func (w *Worker) dispatch(cmd, data string) string {
	w.mu.Lock()
	fn := w.handlers[cmd]
	w.mu.Unlock()
	if fn == nil {
		return fmt.Sprintf("no handler for %q", cmd)
	}
	return fn(data)
}

// registerBuiltins installs the commands every worker answers.
func (w *Worker) registerBuiltins() {
	w.handlers["tars.setloglevel"] = w.setLogLevel
	w.handlers["tars.viewstatus"] = func(string) string {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return fmt.Sprintf("pid=%d worker=%d uptime=%s goroutines=%d heap=%d",
			os.Getpid(), w.id, time.Since(w.start).Round(time.Second), runtime.NumGoroutine(), ms.HeapAlloc)
	}
}

// setLogLevel changes the level of Logger: DEBUG, INFO, WARN, ERROR or NONE.
func (w *Worker) setLogLevel(data string) string {
	lv, ok := parseLevel(data)
	if !ok {
		return fmt.Sprintf("unknown level %q: want DEBUG, INFO, WARN, ERROR or NONE", data)
	}
	w.level.Set(lv)
	return "ok"
}

// levelNone is above every level a record can have.
const levelNone = slog.Level(1 << 10)

func parseLevel(s string) (slog.Level, bool) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "DEBUG":
		return slog.LevelDebug, true
	case "INFO":
		return slog.LevelInfo, true
	case "WARN":
		return slog.LevelWarn, true
	case "ERROR":
		return slog.LevelError, true
	case "NONE":
		return levelNone, true
	}
	return 0, false
}
