package agent

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/internal/logs"
)

func TestStartFailuresSameReasonEverywhere(t *testing.T) {
	f := newStartFailures()
	code1 := exitStatus{Code: 1}
	for slot := range 4 {
		pid := 100 + slot
		f.note(pid, "starting")
		f.note(pid, "gateway: listen: bind: address already in use\n")
		got := f.failed(slot, pid, code1, false, 4, false)
		if slot < 3 && got != "" {
			t.Fatalf("verdict after %d of 4 failures: %q", slot+1, got)
		}
		if slot == 3 {
			want := "the first start failed: all 4 workers exited while starting, each with: gateway: listen: bind: address already in use"
			if got != want {
				t.Fatalf("verdict %q, want %q", got, want)
			}
		}
	}
	// Said once: the first start is over.
	if got := f.failed(0, 200, code1, false, 4, false); got != "" {
		t.Fatalf("second verdict %q", got)
	}
	if f.lines != nil {
		t.Fatal("still collecting error lines after the first start")
	}
}

// With the default exception limit (2 within 10 s) the agent gives up
// before every slot failed: the verdict names how many did.
func TestStartFailuresExceptionLimit(t *testing.T) {
	f := newStartFailures()
	f.note(10, "config: missing key")
	if got := f.failed(0, 10, exitStatus{Code: 2}, false, 4, false); got != "" {
		t.Fatalf("verdict after one failure: %q", got)
	}
	f.note(11, "config: missing key")
	got := f.failed(1, 11, exitStatus{Code: 2}, false, 4, true)
	want := "the first start failed: 2 of 4 workers exited while starting, each with: config: missing key"
	if got != want {
		t.Fatalf("verdict %q, want %q", got, want)
	}
}

func TestStartFailuresWithoutAnErrorLine(t *testing.T) {
	f := newStartFailures()
	got := f.failed(0, 10, exitStatus{Code: 3}, false, 1, false)
	want := "the first start failed: the worker exited while starting, with: no error line, code 3"
	if got != want {
		t.Fatalf("verdict %q, want %q", got, want)
	}
}

func TestStartFailuresNoVerdict(t *testing.T) {
	t.Run("different reasons", func(t *testing.T) {
		f := newStartFailures()
		f.note(10, "a")
		f.note(11, "b")
		f.failed(0, 10, exitStatus{Code: 1}, false, 2, false)
		if got := f.failed(1, 11, exitStatus{Code: 1}, false, 2, true); got != "" {
			t.Fatalf("verdict %q for different reasons", got)
		}
	})
	t.Run("a worker was ready", func(t *testing.T) {
		f := newStartFailures()
		f.ready()
		f.note(10, "a") // not kept
		if got := f.failed(0, 10, exitStatus{Code: 1}, false, 1, true); got != "" {
			t.Fatalf("verdict %q after a ready worker", got)
		}
	})
	t.Run("a plain worker ran its minimum uptime", func(t *testing.T) {
		f := newStartFailures()
		if got := f.failed(0, 10, exitStatus{Code: 1}, true, 1, true); got != "" {
			t.Fatalf("verdict %q for a worker that had started", got)
		}
		if !f.over {
			t.Fatal("first start not over")
		}
	})
}

// memDest keeps what it is given.
type memDest struct {
	bytes.Buffer
}

func (d *memDest) WriteRecords(b []byte, n int) { d.Write(b) }
func (d *memDest) Reopen() error                { return nil }
func (d *memDest) Close() error                 { return nil }
func (d *memDest) Stats() logs.Stats            { return logs.Stats{} }

// The tap sees a stderr pump's lines, writes them where the service log
// goes at the service log's level, and never closes that destination.
func TestErrorTapOfAPump(t *testing.T) {
	dest := &memDest{}
	app := logs.To(dest)
	f := newStartFailures()
	sink := f.tap(42, app)
	logs.Pump(sink, strings.NewReader("first|line\nlisten tcp: bind: address already in use\n"), 42, logs.LevelError)
	if got := f.take(42); got != "listen tcp: bind: address already in use" {
		t.Fatalf("last error line %q", got)
	}
	if !strings.Contains(dest.String(), "|42|ERROR|first|line\n") {
		t.Fatalf("service log lacks the worker's lines:\n%s", dest.String())
	}

	app.SetLevel(logs.LevelNone)
	dest.Reset()
	logs.Pump(f.tap(43, app), strings.NewReader("quiet\n"), 43, logs.LevelError)
	if dest.Len() != 0 || f.take(43) != "quiet" {
		t.Fatalf("at level NONE: wrote %q", dest.String())
	}
	if err := sink.Destination().Close(); err != nil {
		t.Fatal(err)
	}

	f.end()
	if f.tap(44, app) != app {
		t.Fatal("the tap stays after the first start")
	}
}

func TestRecordMessage(t *testing.T) {
	var b []byte
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b = logs.AppendFormat(b, logs.Record{Time: now, PID: 7, Level: logs.LevelError, Message: "one"})
	b = logs.AppendFormat(b, logs.Record{Time: now, PID: 7, Level: logs.LevelError, Message: "two|with|bars"})
	if got := recordMessage(b); got != "two|with|bars" {
		t.Fatalf("recordMessage = %q", got)
	}
	if got := recordMessage([]byte("garbage")); got != "" {
		t.Fatalf("recordMessage of garbage = %q", got)
	}
}
