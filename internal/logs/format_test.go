package logs

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestAppendFormatGolden(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 5, 7, 999, time.Local)
	cases := []struct {
		name string
		r    Record
		want string
	}{
		{"stdout line", Record{Time: at, PID: 42, Level: LevelInfo, Message: "hello"}, "2026-11-23 09:05:07|42|INFO|hello\n"},
		{"call site", Record{Time: at, PID: 7, Level: LevelDebug, File: "main.go", Line: 18, Message: "x=1"}, "2026-11-23 09:05:07|7|DEBUG|main.go:18|x=1\n"},
		{"stderr", Record{Time: at, PID: 9, Level: LevelError, Message: "boom"}, "2026-11-23 09:05:07|9|ERROR|boom\n"},
		{"warn with attrs", Record{Time: at, PID: 1, Level: LevelWarn, File: "a.go", Line: 3, Message: `slow id=4 path="/a b"`}, "2026-11-23 09:05:07|1|WARN|a.go:3|slow id=4 path=\"/a b\"\n"},
		{"stack stays one record", Record{Time: at, PID: 5, Level: LevelError, Message: "panic: x\n\ngoroutine 1:\n\tmain.go:3"}, "2026-11-23 09:05:07|5|ERROR|panic: x\n\ngoroutine 1:\n\tmain.go:3\n"},
		{"empty message", Record{Time: at, PID: 5, Level: LevelInfo}, "2026-11-23 09:05:07|5|INFO|\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(AppendFormat(nil, c.r)); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestAppendFormatCutsAtMaxRecord(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)
	head := "2026-01-02 03:04:05|1|INFO|"
	fits := strings.Repeat("a", MaxRecord-1-len(head))
	if got := AppendFormat(nil, Record{Time: at, PID: 1, Level: LevelInfo, Message: fits}); len(got) != MaxRecord || strings.Contains(string(got), CutMark) {
		t.Fatalf("a message that fits exactly: %d bytes, cut %v", len(got), strings.Contains(string(got), CutMark))
	}
	// One byte more is cut, at a character boundary: "é" is two bytes.
	long := strings.Repeat("é", MaxRecord)
	got := AppendFormat([]byte("prefix kept\n"), Record{Time: at, PID: 1, Level: LevelInfo, Message: long})
	rec := strings.TrimPrefix(string(got), "prefix kept\n")
	if len(rec) > MaxRecord || !strings.HasSuffix(rec, CutMark+"\n") || !utf8.ValidString(rec) {
		t.Fatalf("cut record: %d bytes, suffix %q, valid UTF-8 %v", len(rec), rec[len(rec)-20:], utf8.ValidString(rec))
	}
}

func TestParseLevel(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Level
	}{{"debug", LevelDebug}, {" Info ", LevelInfo}, {"WARN", LevelWarn}, {"error", LevelError}, {"none", LevelNone}} {
		got, err := ParseLevel(c.in)
		if err != nil || got != c.want || got.String() != strings.ToUpper(strings.TrimSpace(c.in)) {
			t.Errorf("ParseLevel(%q) = %v, %v", c.in, got, err)
		}
	}
	if _, err := ParseLevel("loud"); err == nil || !strings.Contains(err.Error(), `"loud"`) {
		t.Errorf("ParseLevel(loud): %v", err)
	}
	if LevelDebug >= LevelInfo || LevelInfo >= LevelWarn || LevelWarn >= LevelError || LevelError >= LevelNone {
		t.Error("levels out of order")
	}
}

func TestSinkLevels(t *testing.T) {
	d := &memory{}
	s := To(d)
	for _, l := range []Level{LevelDebug, LevelInfo, LevelWarn, LevelError} {
		s.Write(Record{Level: l, Message: l.String()})
	}
	s.SetLevel(LevelWarn)
	for _, l := range []Level{LevelDebug, LevelInfo, LevelWarn, LevelError} {
		s.Write(Record{Level: l, Message: l.String()})
	}
	s.SetLevel(LevelNone)
	s.Write(Record{Level: LevelError, Message: "not at NONE"})
	if got := d.messages(); strings.Join(got, ",") != "DEBUG,INFO,WARN,ERROR,WARN,ERROR" {
		t.Fatalf("written: %v", got)
	}
}
