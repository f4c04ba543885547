package logs

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConsoleRegularFileIsSynchronous: stdout redirected to a file gets
// every record before the write returns.
func TestConsoleRegularFileIsSynchronous(t *testing.T) {
	out, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	d := NewConsole(out, ConsoleOptions{})
	defer d.Close()
	To(d).Write(Record{Time: time.Now(), PID: 3, Level: LevelInfo, Message: "at once"})
	if b, _ := os.ReadFile(out.Name()); !strings.HasSuffix(string(b), "|3|INFO|at once\n") {
		t.Fatalf("file holds %q", b)
	}
}

// TestConsoleSlowReaderDropsAndReports: nobody reads stdout for a while;
// producers never block, whole records are dropped and counted, and once
// stdout moves again a notice follows the records that made it.
func TestConsoleSlowReaderDropsAndReports(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d := NewConsole(w, ConsoleOptions{Options: Options{PID: 77}})
	s := To(d)
	const count = 40000 // ~5 MiB: more than the pipe and the buffer hold
	done := make(chan struct{})
	go func() {
		defer close(done)
		Pump(s, strings.NewReader(numbered(0, count, 100)), 1, LevelInfo)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the producer blocked on a stdout nobody reads")
	}
	st := d.Stats()
	if st.Dropped == 0 || st.DroppedBytes == 0 {
		t.Fatalf("nothing dropped: %+v", st)
	}
	var got bytes.Buffer
	read := make(chan struct{})
	go func() { io.Copy(&got, r); close(read) }()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	<-read
	st = d.Stats()
	if st.Written+st.Dropped != count || st.Lost != 0 {
		t.Fatalf("stats %+v for %d records", st, count)
	}
	lines := strings.Split(strings.TrimSuffix(got.String(), "\n"), "\n")
	want := fmt.Sprintf("|77|WARN|node-agent: dropped %d records (%d bytes) while stdout was slow", st.Dropped, st.DroppedBytes)
	if last := lines[len(lines)-1]; !strings.HasSuffix(last, want) {
		t.Fatalf("last line %q, want the notice %q", last, want)
	}
	prev := -1
	for _, l := range lines[:len(lines)-1] {
		var n int
		if _, err := fmt.Sscanf(message(l), "%d ", &n); err != nil || n <= prev || !strings.HasSuffix(l, strings.Repeat("p", 100)) {
			t.Fatalf("record %.80q after %d: torn or out of order", l, prev)
		}
		prev = n
	}
	if uint64(len(lines)-1) != st.Written {
		t.Fatalf("%d records read, %d written", len(lines)-1, st.Written)
	}
}

// TestConsoleClosedStdout: a stdout whose reader went away makes writes
// fail; they are counted and reported once, and nothing panics.
func TestConsoleClosedStdout(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r.Close()
	var report bytes.Buffer
	d := NewConsole(w, ConsoleOptions{Options: Options{Report: &report}})
	s := To(d)
	for i := 0; i < 5; i++ {
		s.Write(Record{Time: time.Now(), Level: LevelError, Message: "into the void"})
		d.Close() // flushes: one failed write per record
	}
	if st := d.Stats(); st.Lost != 5 || st.Errors != 5 {
		t.Fatalf("stats %+v", st)
	}
	if strings.Count(report.String(), "\n") != 1 || !strings.Contains(report.String(), "broken pipe") {
		t.Fatalf("report %q", report.String())
	}
}
