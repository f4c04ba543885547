package logs

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// pumpString pumps in through r (wrapping a reader of in) into a memory.
func pumpString(t *testing.T, in string, wrap func(io.Reader) io.Reader) *memory {
	t.Helper()
	d := &memory{}
	var r io.Reader = strings.NewReader(in)
	if wrap != nil {
		r = wrap(r)
	}
	if err := Pump(To(d), r, 42, LevelInfo); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestPumpFraming(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"a\nb\r\n\nc", []string{"a", "b", "c"}},
		{"", nil},
		{"\n\r\n\n", nil},
		{"tail without newline", []string{"tail without newline"}},
		{"inner\rcarriage return\n", []string{"inner\rcarriage return"}},
		{"x|y|z\n", []string{"x|y|z"}},
	}
	wraps := map[string]func(io.Reader) io.Reader{"whole": nil, "one byte": iotest.OneByteReader, "half": iotest.HalfReader}
	for name, wrap := range wraps {
		for _, c := range cases {
			got := pumpString(t, c.in, wrap).messages()
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("%s: Pump(%q) = %q, want %q", name, c.in, got, c.want)
			}
		}
	}
}

func TestPumpRecordFormat(t *testing.T) {
	lines := pumpString(t, "hello world\n", nil).lines()
	re := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\|42\|INFO\|hello world$`)
	if len(lines) != 1 || !re.MatchString(lines[0]) {
		t.Fatalf("got %q", lines)
	}
	stamp, _ := time.ParseInLocation(timeLayout, lines[0][:19], time.Local)
	if d := time.Since(stamp); d < 0 || d > time.Minute {
		t.Fatalf("time stamp %s is not local now", lines[0][:19])
	}
}

func TestPumpLongLines(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	for name, wrap := range map[string]func(io.Reader) io.Reader{"whole": nil, "half": iotest.HalfReader} {
		got := pumpString(t, "a\n"+long+"\nb\n", wrap).messages()
		if len(got) != 3 || got[0] != "a" || got[1] != long || got[2] != "b" {
			t.Fatalf("%s: 200 KiB line split or merged: %d lines", name, len(got))
		}
	}
	// Past MaxRecord: cut, marked, the rest dropped, the next line intact.
	huge := strings.Repeat("y", 3*MaxRecord)
	d := pumpString(t, huge+"\nz\n"+huge, nil)
	lines := d.lines()
	if len(lines) != 3 || message(lines[1]) != "z" {
		t.Fatalf("over-long lines: %d records", len(lines))
	}
	for _, i := range []int{0, 2} {
		if len(lines[i])+1 != MaxRecord || !strings.HasSuffix(lines[i], "y"+CutMark) {
			t.Fatalf("cut record %d: %d bytes, ends %q", i, len(lines[i]), lines[i][len(lines[i])-10:])
		}
	}
}

// counting is a reader whose reads are counted, to check batching.
type counting struct {
	r     io.Reader
	reads int
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.reads++
	}
	return n, err
}

func TestPumpWritesOncePerRead(t *testing.T) {
	var in strings.Builder
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&in, "line %d\n", i)
	}
	c := &counting{r: strings.NewReader(in.String())}
	d := &memory{}
	if err := Pump(To(d), c, 1, LevelInfo); err != nil {
		t.Fatal(err)
	}
	if d.records != 20000 || d.calls > c.reads {
		t.Fatalf("%d records in %d writes for %d reads", d.records, d.calls, c.reads)
	}
}

func TestPumpLevel(t *testing.T) {
	d := &memory{}
	s := To(d)
	s.SetLevel(LevelError)
	Pump(s, strings.NewReader("dropped\n"), 1, LevelInfo)
	Pump(s, strings.NewReader("kept\n"), 1, LevelError)
	s.SetLevel(LevelNone)
	Pump(s, strings.NewReader("dropped at NONE\n"), 1, LevelError)
	s.SetLevel(LevelDebug)
	Pump(s, strings.NewReader("kept again\n"), 1, LevelInfo)
	if got := strings.Join(d.messages(), ","); got != "kept,kept again" {
		t.Fatalf("written: %s", got)
	}
	s.SetLevel(LevelWarn)
	Pump(s, strings.NewReader("one\n\ntwo\r\n"), 1, LevelInfo) // the empty line is no record
	s.Write(Record{Level: LevelDebug, Message: "three"})
	if got := s.Filtered(); got != 5 {
		t.Fatalf("Filtered() = %d, want 5 (dropped, dropped at NONE, one, two, three)", got)
	}
}

// TestPumpPipeExitMidLine: a writer that closes its end of a pipe in the
// middle of a line still gets that line written.
func TestPumpPipeExitMidLine(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	d := &memory{}
	done := make(chan error)
	go func() { done <- Pump(To(d), r, 7, LevelError); r.Close() }()
	w.WriteString("first\nsecond, cut by the exit")
	w.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.messages(), ","); got != "first,second, cut by the exit" {
		t.Fatalf("written: %q", got)
	}
}

// TestConcurrentPumpsNeverInterleave: 32 pipes written at once into one
// destination give whole lines, each stream's in order.
func TestConcurrentPumpsNeverInterleave(t *testing.T) {
	const writers, lines = 32, 500
	d := &memory{}
	s := To(d)
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		r, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(2)
		go func() { defer wg.Done(); defer r.Close(); Pump(s, r, w, LevelInfo) }()
		go func() {
			defer wg.Done()
			defer pw.Close()
			// Writes of odd sizes and lines of varying length: writes
			// and reads straddle lines.
			bw := bufio.NewWriterSize(pw, 1000+w*97)
			for i := 0; i < lines; i++ {
				fmt.Fprintf(bw, "w%d n%d %s\n", w, i, strings.Repeat(string(rune('a'+w%26)), 10+(i*7)%300))
			}
			bw.Flush()
		}()
	}
	wg.Wait()
	re := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\|(\d+)\|INFO\|w(\d+) n(\d+) ([a-z]+)$`)
	next := make([]int, writers)
	got := d.lines()
	for _, l := range got {
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("torn or interleaved line %.100q", l)
		}
		pid, _ := strconv.Atoi(m[1])
		w, _ := strconv.Atoi(m[2])
		n, _ := strconv.Atoi(m[3])
		if pid != w || n != next[w] || strings.Count(m[4], m[4][:1]) != len(m[4]) || len(m[4]) != 10+(n*7)%300 {
			t.Fatalf("line %.100q: stream %d expected n%d", l, w, next[w])
		}
		next[w]++
	}
	if len(got) != writers*lines {
		t.Fatalf("%d lines, want %d", len(got), writers*lines)
	}
}

func BenchmarkPump(b *testing.B) {
	line := strings.Repeat("x", 99) + "\n"
	in := strings.Repeat(line, 10000)
	s := To(NewWriter(io.Discard, Options{}))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Pump(s, strings.NewReader(in), 1, LevelInfo)
	}
}
