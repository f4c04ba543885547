package container_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/nodeagent/node-agent/container"
	"github.com/nodeagent/node-agent/container/containertest"
	"github.com/nodeagent/node-agent/internal/logs"
)

// records logs through fn, then returns what reached the fake agent.
func records(t *testing.T, a *containertest.Agent, fn func(*slog.Logger)) []string {
	t.Helper()
	fn(a.Worker().Logger())
	a.Command("tars.viewstatus", "") // a round trip: the records arrived before its reply
	var msgs []string
	for _, l := range a.Logs() {
		msgs = append(msgs, l.Level+" "+l.Message)
	}
	return msgs
}

func TestLoggerMultiLineStaysOneRecord(t *testing.T) {
	a := containertest.New(t)
	got := records(t, a, func(l *slog.Logger) { l.Error("panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\tmain.go:9") })
	if len(got) != 1 || got[0] != "ERROR panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\tmain.go:9" {
		t.Fatalf("records %q", got)
	}
}

func TestLoggerNoneAndInitialLevel(t *testing.T) {
	a := containertest.New(t, containertest.Options{LogLevel: "WARN"})
	got := records(t, a, func(l *slog.Logger) {
		l.Info("below WARN")
		l.Warn("kept")
		if a.Command("tars.setloglevel", "none") != "ok" {
			t.Error("NONE refused")
		}
		l.Error("dropped at NONE")
	})
	if strings.Join(got, ",") != "WARN kept" {
		t.Fatalf("records %q", got)
	}
}

// TestLoggerCutsLongMessages: a message past MaxMessage is cut and marked;
// one whose JSON would not fit in a frame is cut shorter, never lost.
func TestLoggerCutsLongMessages(t *testing.T) {
	if container.MaxMessage != logs.MaxRecord {
		t.Fatalf("MaxMessage %d, the agent's records %d", container.MaxMessage, logs.MaxRecord)
	}
	a := containertest.New(t)
	a.Worker().Logger().Info(strings.Repeat("x", 3<<20))
	a.Worker().Logger().Info(strings.Repeat("\x01", 1<<20)) // \u0001 in JSON: 6 MiB
	a.Command("tars.viewstatus", "")
	got := a.Logs()
	if len(got) != 2 {
		t.Fatalf("%d records", len(got))
	}
	if m := got[0].Message; len(m) != container.MaxMessage || !strings.HasSuffix(m, "x"+logs.CutMark) {
		t.Fatalf("first: %d bytes, ends %q", len(m), m[len(m)-12:])
	}
	if m := got[1].Message; len(m) > container.MaxMessage/2 || !strings.HasSuffix(m, "\x01"+logs.CutMark) {
		t.Fatalf("second: %d bytes, ends %q", len(m), m[len(m)-12:])
	}
}

// TestDisabledDebugAllocatesNothing: below the level, a record costs no
// allocation, so no formatting either. (Boxing a variable into the ...any
// of Debug may allocate at the call site, as with any slog logger;
// LogAttrs with typed attributes does not.)
func TestDisabledDebugAllocatesNothing(t *testing.T) {
	a := containertest.New(t, containertest.Options{LogLevel: "INFO"})
	l := a.Worker().Logger()
	ctx := context.Background()
	n := 1 << 40
	if allocs := testing.AllocsPerRun(1000, func() { l.Debug("request", "id", 7, "path", "/a") }); allocs != 0 {
		t.Fatalf("a disabled Debug allocates %v times", allocs)
	}
	if allocs := testing.AllocsPerRun(1000, func() {
		l.LogAttrs(ctx, slog.LevelDebug, "request", slog.Int("id", n), slog.String("path", "/a"))
	}); allocs != 0 {
		t.Fatalf("a disabled LogAttrs allocates %v times", allocs)
	}
}

// BenchmarkLogger: a disabled Debug (with ...any and with typed
// attributes) against an Info that reaches the agent.
func BenchmarkLogger(b *testing.B) {
	a := containertest.New(b, containertest.Options{LogLevel: "INFO"})
	l := a.Worker().Logger()
	ctx := context.Background()
	cases := map[string]func(i int){
		"debug-disabled":          func(i int) { l.Debug("request", "id", i, "path", "/a") },
		"debug-disabled-logattrs": func(i int) { l.LogAttrs(ctx, slog.LevelDebug, "request", slog.Int("id", i), slog.String("path", "/a")) },
		"info":                    func(i int) { l.Info("request", "id", i, "path", "/a") },
	}
	for name, fn := range cases {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				fn(i)
			}
		})
	}
}
