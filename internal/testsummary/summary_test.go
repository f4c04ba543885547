package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nodeagent/node-agent/internal/testtool"
)

// summarize runs the program on input and returns its output.
func summarize(t *testing.T, input string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(args, strings.NewReader(input), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	return out.String()
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lastLine is the closing line of out.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return lines[len(lines)-1]
}

func mustContain(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func mustNotContain(t *testing.T, out string, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(out, u) {
			t.Errorf("output has %q:\n%s", u, out)
		}
	}
}

// testdata/mixed.json is `go test -json ./...` of a module with a passing,
// a skipped, a failing test, subtests of each kind, a package that does not
// build and one whose test panics.
func TestMixedRunListsSkipsAndFailuresThenCounts(t *testing.T) {
	out := summarize(t, fixture(t, "mixed.json"))
	if got, want := lastLine(out), "testsummary: 2 passed, 5 failed, 2 skipped"; got != want {
		t.Errorf("closing line %q, want %q", got, want)
	}
	mustContain(t, out,
		"broken/b.go:2:12: undefined: undefined\n", // build errors are shown
		"--- FAIL: TestFail (0.00s)\n    a_test.go:7: boom\n",
		"panic: oops",
		"FAIL\texample.com/tsx\t0.022s\n",
		"\nSkipped (2):\n  example.com/tsx TestSkip: a_test.go:6: missing tool: redis-server (install: x)\n  example.com/tsx TestSub/skip: a_test.go:10: needs root\n",
		"  example.com/tsx/broken (the package failed: see its output above)\n",
		"  example.com/tsx/panics TestP\n",
	)
	// Like go test without -v: passing and skipped tests are quiet.
	mustNotContain(t, out, "hello", "=== RUN", "--- SKIP", "--- PASS", "\nPASS\n")
}

func TestVerbosePrintsEveryLine(t *testing.T) {
	out := summarize(t, fixture(t, "mixed.json"), "-v")
	mustContain(t, out, "=== RUN   TestPass\n    a_test.go:5: hello\n--- PASS: TestPass (0.00s)\n", "--- SKIP: TestSkip")
	if got, want := lastLine(out), "testsummary: 2 passed, 5 failed, 2 skipped"; got != want {
		t.Errorf("closing line %q, want %q", got, want)
	}
}

// A stream cut while a test runs (go test killed, or the package's binary
// died without a fail event for the test) counts the test as failed.
func TestUnfinishedTestFails(t *testing.T) {
	in := `{"Action":"run","Package":"p","Test":"TestHang"}
{"Action":"output","Package":"p","Test":"TestHang","Output":"=== RUN   TestHang\n"}
{"Action":"output","Package":"p","Test":"TestHang","Output":"    h_test.go:9: waiting\n"}
`
	out := summarize(t, in)
	mustContain(t, out, "    h_test.go:9: waiting\n", "  p TestHang (did not finish)\n")
	if got, want := lastLine(out), "testsummary: 0 passed, 1 failed, 0 skipped"; got != want {
		t.Errorf("closing line %q, want %q", got, want)
	}
}

func TestLinesThatAreNotEventsPassThrough(t *testing.T) {
	out := summarize(t, "go: downloading example.com/x v1.0.0\n")
	mustContain(t, out, "go: downloading example.com/x v1.0.0\n")
}

func TestBadFlagExits2(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-nope"}, strings.NewReader(""), &out, &errb); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
}

// TestRealGoTest runs go test -json on a small module and reads its stream:
// the fixture must not drift from what this Go version writes.
func TestRealGoTest(t *testing.T) {
	goTool := testtool.Require(t, "go", "https://go.dev/dl")
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/real\n\ngo 1.22\n")
	write("r_test.go", `package real

import "testing"

func TestOK(t *testing.T) {}
func TestNeedsTool(t *testing.T) { t.Skip("missing tool: frob (install: apt-get install frob)") }
func TestTable(t *testing.T) {
	t.Run("a", func(t *testing.T) {})
	t.Run("b", func(t *testing.T) { t.Skip("needs root") })
}
`)
	cmd := exec.Command(goTool, "test", "-json", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	stream, err := cmd.Output()
	if err != nil {
		t.Fatalf("go test -json: %v\n%s", err, stream)
	}
	out := summarize(t, string(stream))
	mustContain(t, out,
		"ok  \texample.com/real\t",
		"  example.com/real TestNeedsTool: r_test.go:6: missing tool: frob (install: apt-get install frob)\n",
		"  example.com/real TestTable/b: r_test.go:9: needs root\n",
	)
	if got, want := lastLine(out), "testsummary: 3 passed, 0 failed, 2 skipped"; got != want {
		t.Errorf("closing line %q, want %q", got, want)
	}
}
