package gobuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// WaitDelay is how long a command killed because its context ended may
// hold its output pipes open (grandchildren such as the compiler) before
// they are closed; see exec.Cmd.WaitDelay.
const WaitDelay = 5 * time.Second

// Tool is a go command and how to run it. The zero value runs "go" found
// in PATH, in the process environment.
type Tool struct {
	// Path is the go command; "" searches "go" in PATH (as LookupEnv
	// reads it).
	Path string
	// LookupEnv reads PATH when Path is ""; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Env is the go command's environment; nil means the process
	// environment. Options.Env is added to it for a build.
	Env []string
	// Exec runs a prepared command to completion as cmd.Run does and kills
	// it when ctx ends; nil means exec.CommandContext and Run. A caller
	// that waits for all its children in one place sets it.
	Exec func(ctx context.Context, cmd *exec.Cmd) error
}

// Options says what to build.
type Options struct {
	// Dir is the directory of the main package, built as ".". Required.
	Dir string
	// Output is the executable to write. Required.
	Output string
	// Trimpath drops file system paths from the executable (-trimpath).
	Trimpath bool
	// NoVCS leaves out the version control state (-buildvcs=false).
	NoVCS bool
	// Reproducible makes the executable depend only on the sources, the
	// toolchain and the target: Trimpath and NoVCS, an empty build ID and
	// no symbol table or DWARF (-ldflags "-s -w -buildid=").
	Reproducible bool
	// LDFlags are more linker flags, such as "-X main.version=1.2.0".
	LDFlags []string
	// Env is added to Tool.Env (later entries win), such as GOOS=linux.
	Env []string
}

// Args returns the go command's arguments for o, from "build" on.
func (o Options) Args() []string {
	args := []string{"build"}
	if o.Trimpath || o.Reproducible {
		args = append(args, "-trimpath")
	}
	if o.NoVCS || o.Reproducible {
		args = append(args, "-buildvcs=false")
	}
	var ld []string
	if o.Reproducible {
		ld = append(ld, "-s", "-w", "-buildid=")
	}
	ld = append(ld, o.LDFlags...)
	if len(ld) > 0 {
		args = append(args, "-ldflags", strings.Join(ld, " "))
	}
	return append(args, "-o", o.Output, ".")
}

// Build runs go build as o says. On failure it returns *Error with the
// compiler's output; a build that reports success but leaves no Output is
// an *Error too.
func (t Tool) Build(ctx context.Context, o Options) error {
	if o.Dir == "" || o.Output == "" {
		return fmt.Errorf("go build: Options.Dir and Options.Output are required (got %q, %q)", o.Dir, o.Output)
	}
	env := t.Env
	if len(o.Env) > 0 {
		if env == nil {
			env = os.Environ()
		}
		env = append(slices.Clip(env), o.Env...)
	}
	if _, err := t.run(ctx, o.Dir, env, o.Args()); err != nil {
		return err
	}
	if _, err := os.Stat(o.Output); err != nil {
		return &Error{Dir: o.Dir, Args: o.Args(), Err: err}
	}
	return nil
}

// Run runs the go command with args (such as "list", "-json", ".") in dir
// and returns its standard output; a failure is *Error.
func (t Tool) Run(ctx context.Context, dir string, args ...string) ([]byte, error) {
	return t.run(ctx, dir, t.Env, args)
}

func (t Tool) run(ctx context.Context, dir string, env, args []string) ([]byte, error) {
	gotool, err := t.Resolve()
	if err != nil {
		return nil, &Error{Dir: dir, Args: args, Err: err}
	}
	var cmd *exec.Cmd
	if t.Exec == nil {
		cmd = exec.CommandContext(ctx, gotool, args...)
		cmd.WaitDelay = WaitDelay
	} else {
		cmd = exec.Command(gotool, args...) // Exec watches ctx itself
	}
	cmd.Dir, cmd.Env = dir, env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if t.Exec == nil {
		err = cmd.Run()
	} else {
		err = t.Exec(ctx, cmd)
	}
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err) // "signal: killed" says less
		}
		return nil, &Error{Dir: dir, Args: args, Err: err, Output: stderr.String()}
	}
	return stdout.Bytes(), nil
}

// Resolve returns the absolute path of the go command: Path, else "go"
// searched in PATH; exec.ErrNotFound when there is none.
func (t Tool) Resolve() (string, error) {
	if t.Path != "" {
		return t.Path, nil
	}
	lookup := t.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	path, _ := lookup("PATH")
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, "go")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return filepath.Abs(p)
		}
	}
	return "", exec.ErrNotFound
}
