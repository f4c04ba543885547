package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestBuildFailures: every refused or failed build wraps its sentinel, says
// what is wrong, and leaves the output directory exactly as it was: an
// earlier NAME.tgz and its checksum untouched, no temporary file.
func TestBuildFailures(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Options)
		want   error
		msg    string
	}{
		{"name with dash", func(o *Options) { o.Name = "bad-name" }, ErrBadName, `"bad-name" must be letters and digits`},
		{"empty name", func(o *Options) { o.Name = "" }, ErrBadName, "letters and digits"},
		{"name with slash", func(o *Options) { o.Name = "a/b" }, ErrBadName, "letters and digits"},
		{"library package", func(o *Options) { o.Dir = filepath.Join(fixtures, "notmain") }, ErrNotMain, "holds package notmain"},
		{"no Go files", func(o *Options) { o.Dir = filepath.Join(fixtures, "hello", "conf") }, ErrNotMain, "no Go files"},
		{"missing dir", func(o *Options) { o.Dir = filepath.Join(fixtures, "nonexistent") }, ErrNotMain, "no such file"},
		{"compile error", func(o *Options) { o.Dir = filepath.Join(fixtures, "broken") }, ErrBuild, "undefined: undefinedFunction"},
		{"include dotdot", func(o *Options) { o.Include = []string{"../tiny/main.go"} }, ErrInclude, `has a ".." element`},
		{"include absolute", func(o *Options) { o.Include = []string{"/etc/hostname"} }, ErrInclude, "is absolute"},
		{"include nothing", func(o *Options) { o.Include = []string{"*.nothing"} }, ErrInclude, "matches no file"},
		{"bad option", func(o *Options) { o.AgentOptions = map[string]string{"instance": "2"} }, ErrBadOption, `"instance" is not a long option name`},
		{"name option", func(o *Options) { o.AgentOptions = map[string]string{"name": "x"} }, ErrBadOption, "set by deploy"},
		{"bad option value", func(o *Options) { o.AgentOptions = map[string]string{"instances": "lots"} }, ErrBadOption, `--instances: bad value "lots"`},
		{"bad version", func(o *Options) { o.Version = "1.0 beta" }, ErrBadVersion, "may hold only"},
		{"agent missing", func(o *Options) { o.Agent = filepath.Join(t.TempDir(), "none") }, ErrAgent, "no such file"},
		{"agent not a binary", func(o *Options) { o.Agent = filepath.Join(fixtures, "hello", "main.go") }, ErrAgent, "not an ELF, Mach-O or PE"},
		{"cross platform without agent", func(o *Options) { o.Agent = ""; o.GOARCH = otherArch() }, ErrAgent, "pass --agent PATH"},
		{"cross platform with host agent", func(o *Options) { o.GOARCH = otherArch() }, ErrAgent, "the target is " + runtime.GOOS + "/" + otherArch()},
		{"cancelled", func(o *Options) {}, context.Canceled, "canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := helloOptions(t, "Fail")
			tt.change(&o)
			if !ValidName(o.Name) {
				o.Output = filepath.Join(t.TempDir(), "Fail.tgz")
			}
			out := filepath.Dir(o.Output)
			os.WriteFile(o.Output, []byte("previous"), 0o644)
			os.WriteFile(o.Output+".sha256", []byte("previous"), 0o644)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.want == context.Canceled {
				o.Progress = func(_ int, step string) {
					if step == "building service" {
						cancel()
					}
				}
			}
			_, err := Build(ctx, o)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Build: %v\nwant errors.Is %v and %q", err, tt.want, tt.msg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if got := listDir(t, out); got != "Fail.tgz Fail.tgz.sha256" {
				t.Errorf("output dir holds %q after a failure", got)
			}
			if b, _ := os.ReadFile(o.Output); string(b) != "previous" {
				t.Errorf("earlier tarball changed")
			}
		})
	}
}

// TestBuildErrorKeepsCompilerOutput: the full diagnostics are available to
// the caller, the message is one line.
func TestBuildErrorKeepsCompilerOutput(t *testing.T) {
	o := helloOptions(t, "Broken")
	o.Dir = filepath.Join(fixtures, "broken")
	_, err := Build(context.Background(), o)
	var be *BuildError
	if !errors.As(err, &be) || !strings.Contains(be.Output, "main.go:4") {
		t.Fatalf("want *BuildError with the compiler output, got %#v", err)
	}
}

// TestBuildOutputDirectory: -o naming a directory puts NAME.tgz inside it.
func TestBuildOutputDirectory(t *testing.T) {
	o := helloOptions(t, "InDir")
	o.Output = t.TempDir()
	res, err := Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Path != filepath.Join(o.Output, "InDir.tgz") || listDir(t, o.Output) != "InDir.tgz InDir.tgz.sha256" {
		t.Errorf("path %s, dir holds %q", res.Path, listDir(t, o.Output))
	}
}
