package logs

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestHandler: slog records become TARS lines at the sink's level, with
// their attributes (and groups) after the message, and follow Redirect.
func TestHandler(t *testing.T) {
	var a, b bytes.Buffer
	sa := To(NewWriter(&a, Options{}))
	sa.SetLevel(LevelInfo)
	h := NewHandler(sa, 42)
	l := slog.New(h)
	l.Debug("hidden")
	l.Info("started", "slot", 1)
	l.WithGroup("w").With("pid", 7).Warn("slow", slog.Group("q", "n", 3))
	got := a.String()
	for _, want := range []string{"|42|INFO|started slot=1\n", "|42|WARN|slow w.pid=7 w.q.n=3\n"} {
		if !strings.Contains(got, want) {
			t.Fatalf("log %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "hidden") {
		t.Fatalf("a DEBUG record passed an INFO sink: %q", got)
	}
	derived := l.With("k", "v")
	h.Redirect(To(NewWriter(&b, Options{})))
	derived.Error("moved")
	if !strings.Contains(b.String(), "|42|ERROR|moved k=v\n") || strings.Contains(a.String(), "moved") {
		t.Fatalf("after Redirect: %q / %q", a.String(), b.String())
	}
}
