package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json's TestEvent, plus the
// ImportPath of the build-output events of the go command).
type event struct {
	Action     string
	Package    string
	ImportPath string
	Test       string
	Output     string
	Elapsed    float64
}

// testKey names one test (or subtest) of one package.
type testKey struct{ pkg, test string }

// outcome is a finished test, kept for the closing report.
type outcome struct {
	testKey
	reason string // why it was skipped, or how it failed when it did not say
}

// summary follows a run. It prints go test's human output as events come
// and keeps what the closing report needs.
type summary struct {
	w       *bufio.Writer
	verbose bool

	running map[testKey][]string // output of each test not finished yet
	passed  int
	failed  []outcome
	skipped []outcome
	// failedPackages are packages that failed without a failed test: a
	// build error, or a crash before or between tests.
	failedPackages []string
	packageFailed  map[string]bool // a test of the package failed
}

func newSummary(w *bufio.Writer, verbose bool) *summary {
	return &summary{w: w, verbose: verbose, running: map[testKey][]string{}, packageFailed: map[string]bool{}}
}

// read consumes the stream until its end. A line that is not an event is
// printed as it is (go test may mix them in on some errors).
func (s *summary) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			s.w.Write(line)
			s.w.WriteByte('\n')
			continue
		}
		s.handle(ev)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading go test -json: %w", err)
	}
	// A stream cut short (go test killed) leaves tests running.
	for k := range s.running {
		s.unfinished(k)
	}
	return nil
}

func (s *summary) handle(ev event) {
	if ev.Action == "build-output" {
		s.w.WriteString(ev.Output)
		return
	}
	if ev.Test == "" {
		s.packageEvent(ev)
		return
	}
	k := testKey{ev.Package, ev.Test}
	switch ev.Action {
	case "run":
		s.running[k] = nil
	case "output":
		if s.verbose {
			s.w.WriteString(ev.Output)
		}
		s.running[k] = append(s.running[k], ev.Output)
	case "pass":
		s.passed++
		delete(s.running, k)
	case "skip":
		s.skipped = append(s.skipped, outcome{k, skipReason(s.running[k])})
		delete(s.running, k)
	case "fail":
		s.fail(k, "")
	}
}

// packageEvent handles the lines and the end of a package.
func (s *summary) packageEvent(ev event) {
	switch ev.Action {
	case "output":
		if s.verbose || ev.Output != "PASS\n" {
			s.w.WriteString(ev.Output)
		}
	case "pass", "fail":
		for k := range s.running {
			if k.pkg == ev.Package {
				s.unfinished(k)
			}
		}
		if ev.Action == "fail" && !s.packageFailed[ev.Package] {
			s.failedPackages = append(s.failedPackages, ev.Package)
		}
	}
}

// fail records a failed test and prints its output (already printed with -v).
func (s *summary) fail(k testKey, reason string) {
	if !s.verbose {
		// As go test prints it: the --- FAIL line, then what the test wrote.
		output := s.running[k]
		for _, line := range output {
			if strings.HasPrefix(strings.TrimLeft(line, " "), "--- FAIL") {
				s.w.WriteString(line)
			}
		}
		for _, line := range output {
			if !isFrame(line) {
				s.w.WriteString(line)
			}
		}
	}
	s.failed = append(s.failed, outcome{k, reason})
	s.packageFailed[k.pkg] = true
	delete(s.running, k)
}

// unfinished fails a test whose package ended (or whose stream was cut)
// before the test did: a panic, a timeout or os.Exit in the test.
func (s *summary) unfinished(k testKey) {
	s.fail(k, "did not finish")
}

// report writes the closing lines: skips, failures, counts.
func (s *summary) report() {
	byName := func(o []outcome) {
		sort.Slice(o, func(i, j int) bool {
			if o[i].pkg != o[j].pkg {
				return o[i].pkg < o[j].pkg
			}
			return o[i].test < o[j].test
		})
	}
	byName(s.skipped)
	byName(s.failed)
	if len(s.skipped) > 0 {
		fmt.Fprintf(s.w, "\nSkipped (%d):\n", len(s.skipped))
		for _, o := range s.skipped {
			fmt.Fprintf(s.w, "  %s %s: %s\n", o.pkg, o.test, o.reason)
		}
	}
	if len(s.failed) > 0 || len(s.failedPackages) > 0 {
		fmt.Fprintf(s.w, "\nFailed (%d):\n", len(s.failed)+len(s.failedPackages))
		for _, o := range s.failed {
			if o.reason != "" {
				fmt.Fprintf(s.w, "  %s %s (%s)\n", o.pkg, o.test, o.reason)
			} else {
				fmt.Fprintf(s.w, "  %s %s\n", o.pkg, o.test)
			}
		}
		sort.Strings(s.failedPackages)
		for _, p := range s.failedPackages {
			fmt.Fprintf(s.w, "  %s (the package failed: see its output above)\n", p)
		}
	}
	fmt.Fprintf(s.w, "\ntestsummary: %d passed, %d failed, %d skipped\n",
		s.passed, len(s.failed)+len(s.failedPackages), len(s.skipped))
}

// skipReason is the last line a skipped test wrote that is not one of the
// testing package's frame lines: t.Skip's message, with its file:line.
func skipReason(output []string) string {
	for i := len(output) - 1; i >= 0; i-- {
		line := strings.TrimSpace(output[i])
		if line != "" && !isFrame(output[i]) {
			return line
		}
	}
	return "(no reason given)"
}

// isFrame reports whether line is one the testing package writes around a
// test's own output (=== RUN, --- PASS, …).
func isFrame(line string) bool {
	line = strings.TrimLeft(line, " ")
	return strings.HasPrefix(line, "=== ") || strings.HasPrefix(line, "--- ")
}
