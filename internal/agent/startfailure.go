package agent

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nodeagent/node-agent/internal/logs"
)

// minUptime is how long a plain worker (one that does not link the
// container library, so it is ready when started) must run to count as
// started, as PM2's min_uptime: one that exits sooner failed to start.
const minUptime = time.Second

// startFailures watches the agent's first start for the failure that makes
// every worker exit before it is ready (a port in use, a missing file, a
// bad setting): the agent then says so in one line quoting the workers'
// last error line, instead of leaving an anonymous crash loop to read.
// The first start is over once a worker is ready (or, for a plain worker,
// has run minUptime), or once the line was said.
//
// The run loop calls ready and failed; the output goroutines of the
// workers feed the last error lines through note and tap.
type startFailures struct {
	// Run loop only: the first start is over; the reason shared by the
	// failures so far and the slots they happened in.
	over   bool
	reason string
	slots  map[int]bool

	mu sync.Mutex
	// lines holds the last error line of each worker by pid while the
	// first start lasts; nil once it is over.
	lines map[int]string
}

func newStartFailures() *startFailures {
	return &startFailures{lines: map[int]string{}}
}

// note records message as the last error line of pid, during the first
// start.
func (f *startFailures) note(pid int, message string) {
	line := lastLine(message)
	if line == "" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lines != nil {
		f.lines[pid] = line
	}
}

// take returns and forgets the last error line of pid.
func (f *startFailures) take(pid int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	line := f.lines[pid]
	delete(f.lines, pid)
	return line
}

// end stops collecting: the first start is over.
func (f *startFailures) end() {
	f.over, f.slots = true, nil
	f.mu.Lock()
	f.lines = nil
	f.mu.Unlock()
}

// ready tells that a worker is ready: the first start succeeded.
func (f *startFailures) ready() {
	if !f.over {
		f.end()
	}
}

// reportStartFailure is called for every unexpected exit of a worker:
// during the first start it may log the one line that says why every
// worker failed. The line states what happened; restarts go on as usual
// (a transient failure may pass), within the exception limit.
func (s *Supervisor) reportStartFailure(w *worker, status exitStatus) {
	// A plain worker is ready when started; having run minUptime, it had
	// really started.
	started := !s.linked && s.sys.clock.Now().Sub(w.started) >= minUptime
	giveUp := s.stopping && s.exitCode == ExitExceptionLimit
	if msg := s.starts.failed(w.slot, w.p.PID(), status, started, len(s.table.slots), giveUp); msg != "" {
		s.log.error("%s", msg)
	}
}

// failed records the unexpected exit of the worker pid of slot during the
// first start and returns the verdict to log once every worker failed for
// the same reason (all instances, or all that exited before the agent gave
// up at the exception limit: giveUp), else "". started tells that the
// worker had started all the same (a plain worker past minUptime), which
// ends the first start.
func (f *startFailures) failed(slot, pid int, status exitStatus, started bool, instances int, giveUp bool) string {
	line := f.take(pid)
	if f.over {
		return ""
	}
	if started {
		f.end()
		return ""
	}
	reason := line
	if reason == "" {
		reason = "no error line, " + status.String()
	}
	if f.slots == nil {
		f.reason, f.slots = reason, map[int]bool{}
	}
	if reason != f.reason {
		f.end() // different reasons: each exit was logged with its own
		return ""
	}
	f.slots[slot] = true
	n := len(f.slots)
	if n < instances && !giveUp {
		return ""
	}
	f.end()
	switch {
	case instances == 1 && n == 1:
		return "the first start failed: the worker exited while starting, with: " + reason
	case n == instances:
		return "the first start failed: all " + strconv.Itoa(n) + " workers exited while starting, each with: " + reason
	}
	return "the first start failed: " + strconv.Itoa(n) + " of " + strconv.Itoa(instances) + " workers exited while starting, each with: " + reason
}

// tap returns the sink for the stderr lines of worker pid: app itself once
// the first start is over, else a sink that writes to app's destination
// what app would write and notes each last line.
func (f *startFailures) tap(pid int, app *logs.Sink) *logs.Sink {
	f.mu.Lock()
	over := f.lines == nil
	f.mu.Unlock()
	if over {
		return app
	}
	return logs.To(&errorTap{Destination: app.Destination(), app: app, pid: pid, f: f})
}

// errorTap is the destination of a worker's stderr pump during the first
// start. The pump's sink lets everything through; the tap applies app's
// level (which tars.setloglevel changes) before writing.
type errorTap struct {
	logs.Destination
	app *logs.Sink
	pid int
	f   *startFailures
}

func (t *errorTap) WriteRecords(b []byte, n int) {
	if t.app.Enabled(logs.LevelError) {
		t.Destination.WriteRecords(b, n)
	}
	t.f.note(t.pid, recordMessage(b))
}

// Close and Reopen leave the shared destination to its owner.
func (t *errorTap) Close() error  { return nil }
func (t *errorTap) Reopen() error { return nil }

// recordMessage is the message of the last record in b, records of the
// form "time|pid|LEVEL|message\n" as logs.Pump writes them.
func recordMessage(b []byte) string {
	b = bytes.TrimRight(b, "\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	for range 3 {
		i := bytes.IndexByte(b, '|')
		if i < 0 {
			return ""
		}
		b = b[i+1:]
	}
	return string(b)
}

// lastLine is the last non-blank line of s, trimmed.
func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[i+1:])
	}
	return s
}
