package container

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"
)

// HandlerFunc answers an admin command: it gets the text after the command
// and returns the reply, or an error that the agent passes on to the
// caller as an error (AdminF answers non-zero with its text; `node-agent
// ctl` exits 1). ctx ends when the Worker is closed. It runs on its own
// goroutine and should return within the agent's reply deadline: the
// caller's timeout minus a margin, at most 3 s.
type HandlerFunc func(ctx context.Context, data string) (string, error)

// ErrNoHandler is the error answered for a command nobody registered.
var ErrNoHandler = errors.New("no handler")

// HandleFunc registers fn to answer the admin command cmd (for example
// "tars.viewstatus" or a command of your own sent with
// `node-agent ctl cmd data`). A later registration for the same command
// replaces the earlier one, including the library's built-in handlers.
func (w *Worker) HandleFunc(cmd string, fn HandlerFunc) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.handlers[cmd] = fn
}

// Handle is HandleFunc for a handler that cannot fail: whatever fn returns
// is a successful reply.
func (w *Worker) Handle(cmd string, fn func(data string) string) {
	w.HandleFunc(cmd, func(_ context.Context, data string) (string, error) { return fn(data), nil })
}

// dispatch runs the handler of cmd with a context that ends when the
// Worker is closed.
func (w *Worker) dispatch(cmd, data string) (string, error) {
	w.mu.Lock()
	fn := w.handlers[cmd]
	w.mu.Unlock()
	if fn == nil {
		return "", fmt.Errorf("%w for %q", ErrNoHandler, cmd)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-w.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	return fn(ctx, data)
}

// registerBuiltins installs the commands every worker answers.
func (w *Worker) registerBuiltins() {
	w.handlers["tars.setloglevel"] = w.setLogLevel
	w.handlers[cmdHelp] = w.help
	w.handlers[cmdDumpStack] = w.dumpStack
	w.handlers[cmdPProf] = w.servePProf
	w.handlers[cmdLoadConfig] = w.loadConfig
	w.handlers["tars.viewstatus"] = func(context.Context, string) (string, error) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return fmt.Sprintf("pid=%d worker=%d uptime=%s goroutines=%d heap=%d",
			os.Getpid(), w.id, time.Since(w.start).Round(time.Second), runtime.NumGoroutine(), ms.HeapAlloc), nil
	}
}

// setLogLevel changes the level of Logger: DEBUG, INFO, WARN, ERROR or NONE.
func (w *Worker) setLogLevel(_ context.Context, data string) (string, error) {
	lv, ok := parseLevel(data)
	if !ok {
		return "", fmt.Errorf("unknown level %q: want DEBUG, INFO, WARN, ERROR or NONE", data)
	}
	w.level.Set(lv)
	return "ok", nil
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
