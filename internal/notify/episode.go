package notify

// Logf is how this package logs: one line per call, printf style. Give the
// agent log's function; nil discards. It must be safe for concurrent use.
type Logf func(format string, args ...any)

func (l Logf) printf(format string, args ...any) {
	if l != nil {
		l(format, args...)
	}
}

// episode logs a failing remote call once per outage: the first failure,
// then nothing until a call succeeds again, which is logged too. It is
// owned by one goroutine.
type episode struct {
	what    string // "keepAlive to tarsnode"
	logf    Logf
	failing bool
}

// result records the outcome of one call.
func (e *episode) result(err error) {
	switch {
	case err != nil && !e.failing:
		e.failing = true
		e.logf.printf("%s failed: %v (further failures are not logged until it works again)", e.what, err)
	case err == nil && e.failing:
		e.failing = false
		e.logf.printf("%s works again", e.what)
	}
}
