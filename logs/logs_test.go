package logs

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAppendFormat(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 5, 7, 0, time.Local)
	cases := []struct {
		r    Record
		want string
	}{
		{Record{Time: at, PID: 42, Level: "INFO", Message: "hello"}, "2026-11-23 09:05:07|42|INFO|hello\n"},
		{Record{Time: at, PID: 7, Level: "DEBUG", File: "main.go", Line: 18, Message: "x=1"}, "2026-11-23 09:05:07|7|DEBUG|main.go:18|x=1\n"},
	}
	for _, c := range cases {
		if got := string(AppendFormat(nil, c.r)); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func collect(t *testing.T, in string) []string {
	t.Helper()
	var got []string
	if err := Lines(strings.NewReader(in), func(l []byte) { got = append(got, string(l)) }); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestLines(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"a\nb\r\n\nc", []string{"a", "b", "c"}},
		{"", nil},
		{"tail without newline", []string{"tail without newline"}},
	}
	for _, c := range cases {
		if got := collect(t, c.in); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("Lines(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestLongLinesStayWhole(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	got := collect(t, "a\n"+long+"\nb\n")
	if len(got) != 3 || got[1] != long || got[0] != "a" || got[2] != "b" {
		t.Fatalf("long line split or merged: %d lines", len(got))
	}
	huge := strings.Repeat("y", MaxLine+100)
	got = collect(t, huge+"\nz\n")
	if len(got) != 2 || got[0] != huge[:MaxLine]+CutMark || got[1] != "z" {
		t.Fatalf("over-long line: %d lines, first %d bytes", len(got), len(got[0]))
	}
}

func TestSinkNeverInterleaves(t *testing.T) {
	var buf bytes.Buffer
	s := NewSink(&buf)
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				s.Write(Record{PID: w, Level: "INFO", Message: strings.Repeat(string(rune('a'+w%26)), 100)})
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 32*200 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		parts := strings.Split(l, "|")
		msg := parts[len(parts)-1]
		if len(msg) != 100 || strings.Count(msg, msg[:1]) != 100 {
			t.Fatalf("interleaved line %q", l)
		}
	}
}
