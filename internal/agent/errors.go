package agent

import (
	"errors"
	"fmt"
)

// Errors of admin commands (SPEC §10). Notify returns them wrapped, with
// the text of the occurrence; test with errors.Is. The AdminF server sends
// any error but ErrUnknownCommand as a non-zero return with its text, so
// `node-agent ctl` exits 1; ErrUnknownCommand goes with return 0, as a
// TarsGo server answers an unknown command (tarslinks.go), and ctl exits 1
// on its words.
var (
	// ErrStopped: Run has returned.
	ErrStopped = errors.New("agent: the agent has stopped")
	// ErrStopping: the agent is stopping and starts nothing new.
	ErrStopping = errors.New("the agent is stopping")
	// ErrReloadInProgress: a rolling reload runs; the command would
	// interfere with it.
	ErrReloadInProgress = errors.New("a reload is in progress")
	// ErrBadArgument: the command's data is not what it takes.
	ErrBadArgument = errors.New("bad argument")
	// ErrReloadFailed: a replacement of the rolling reload failed; the
	// workers not yet replaced keep serving.
	ErrReloadFailed = errors.New("reload failed")
	// ErrWorkers: a forwarded command failed in some worker, or some
	// worker did not answer in time; the error's text is the whole reply,
	// one line per worker.
	ErrWorkers = errors.New("not every worker answered ok")
	// ErrUnknownCommand: the command is empty, or nobody handles it
	// ("<command> not support now!", TarsGo's words).
	ErrUnknownCommand = errors.New("unknown command")
)

// kindError is an error of a known kind (a sentinel above, or a start
// outcome) carrying the text of this occurrence: Error is the text alone,
// errors.Is matches the kind.
type kindError struct {
	kind error
	text string
}

func (e *kindError) Error() string { return e.text }
func (e *kindError) Unwrap() error { return e.kind }

// errorf returns an error of kind whose text is the formatted message.
func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, text: fmt.Sprintf(format, args...)}
}
