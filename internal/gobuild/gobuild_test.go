package gobuild

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/internal/testtool"
)

// module writes a main module printing its version (stamped with -X) and
// its build settings, and returns its directory.
func module(t *testing.T, main string) string {
	t.Helper()
	testtool.Require(t, "go", "https://go.dev/dl")
	dir := t.TempDir()
	write(t, filepath.Join(dir, "go.mod"), "module example.com/tiny\n\ngo 1.22\n")
	write(t, filepath.Join(dir, "main.go"), main)
	return dir
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

const versionMain = `package main

import (
	"fmt"
	"runtime/debug"
)

var version = "dev"

func main() {
	bi, _ := debug.ReadBuildInfo()
	fmt.Println(version)
	for _, s := range bi.Settings {
		fmt.Println(s.Key + "=" + s.Value)
	}
}
`

func TestOptionsArgs(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want []string
	}{
		{Options{Dir: "d", Output: "o"}, []string{"build", "-o", "o", "."}},
		{Options{Dir: "d", Output: "o", NoVCS: true}, []string{"build", "-buildvcs=false", "-o", "o", "."}},
		{Options{Dir: "d", Output: "o", Trimpath: true, LDFlags: []string{"-X main.v=1"}},
			[]string{"build", "-trimpath", "-ldflags", "-X main.v=1", "-o", "o", "."}},
		{Options{Dir: "d", Output: "o", Reproducible: true, LDFlags: []string{"-X main.v=1"}},
			[]string{"build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w -buildid= -X main.v=1", "-o", "o", "."}},
	} {
		if got := c.o.Args(); !slices.Equal(got, c.want) {
			t.Errorf("%+v.Args() = %q; want %q", c.o, got, c.want)
		}
	}
}

// TestBuildReproducible: two reproducible builds in different directories
// give the same bytes, stamped with the version, for the target in Env.
func TestBuildReproducible(t *testing.T) {
	ctx := context.Background()
	var outs [2]string
	for i := range outs {
		dir := module(t, versionMain)
		outs[i] = filepath.Join(t.TempDir(), "tiny")
		err := Tool{}.Build(ctx, Options{Dir: dir, Output: outs[i], Reproducible: true,
			LDFlags: []string{"-X main.version=1.2.3"}, Env: []string{"CGO_ENABLED=0"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	a, _ := os.ReadFile(outs[0])
	b, _ := os.ReadFile(outs[1])
	if len(a) == 0 || string(a) != string(b) {
		t.Errorf("reproducible builds differ: %d and %d bytes", len(a), len(b))
	}
	out, err := exec.Command(outs[0]).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1.2.3\n", "-trimpath=true", "CGO_ENABLED=0", "GOOS=" + runtime.GOOS} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the executable says %q; want %q in it", out, want)
		}
	}
}

// TestBuildError: a failed build is *Error with every diagnostic; its
// message is the command, the cause and the first lines.
func TestBuildError(t *testing.T) {
	dir := module(t, "package main\n\nfunc main() { undefinedThing() }\n")
	err := Tool{}.Build(context.Background(), Options{Dir: dir, Output: filepath.Join(t.TempDir(), "x")})
	var be *Error
	if !errors.As(err, &be) {
		t.Fatalf("Build = %v; want *Error", err)
	}
	var exit *exec.ExitError
	if be.Dir != dir || be.Args[0] != "build" || !errors.As(err, &exit) {
		t.Errorf("Error = %+v", be)
	}
	if d := FirstDiagnostic(be.Output); !strings.Contains(d, "main.go:3") || !strings.Contains(d, "undefined") {
		t.Errorf("FirstDiagnostic = %q", d)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "go build in "+dir+": exit status") || !strings.Contains(msg, "undefinedThing") {
		t.Errorf("Error() = %q", msg)
	}
}

// TestRunAndExec: Run returns stdout; Exec runs the command instead of
// exec's Run; a missing go is exec.ErrNotFound.
func TestRunAndExec(t *testing.T) {
	dir := module(t, versionMain)
	ran := 0
	tool := Tool{Exec: func(ctx context.Context, cmd *exec.Cmd) error { ran++; return cmd.Run() }}
	out, err := tool.Run(context.Background(), dir, "list", "-f", "{{.Name}}", ".")
	if err != nil || strings.TrimSpace(string(out)) != "main" || ran != 1 {
		t.Errorf("Run = %q, %v (Exec ran %d times)", out, err, ran)
	}

	noGo := Tool{LookupEnv: func(string) (string, bool) { return t.TempDir(), true }}
	if _, err := noGo.Resolve(); !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("Resolve without go = %v", err)
	}
	if err := noGo.Build(context.Background(), Options{Dir: dir, Output: "x"}); !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("Build without go = %v", err)
	}
	if err := (Tool{}).Build(context.Background(), Options{Dir: dir}); err == nil {
		t.Error("Build without Output succeeded")
	}
}

// TestCancel: a build whose context ends stops and says so.
func TestCancel(t *testing.T) {
	dir := module(t, versionMain)
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	<-ctx.Done()
	err := Tool{}.Build(ctx, Options{Dir: dir, Output: filepath.Join(t.TempDir(), "x")})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Build after the deadline = %v; want context.DeadlineExceeded", err)
	}
}

func TestFirstLines(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"", 2, ""},
		{"a\nb\n", 2, "a\nb"},
		{"a\nb\nc\nd\n", 2, "a\nb\n... (2 more lines)"},
	} {
		if got := firstLines(c.in, c.n); got != c.want {
			t.Errorf("firstLines(%q, %d) = %q; want %q", c.in, c.n, got, c.want)
		}
	}
}
