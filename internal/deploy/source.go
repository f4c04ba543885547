package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nodeagent/node-agent/internal/gobuild"
)

// pkgInfo is what `go list` says about the service's directory.
type pkgInfo struct {
	Dir       string // absolute package directory
	ModuleDir string // absolute root of the enclosing module
}

// subprocessTimeout bounds the quick git and go list calls (not go build).
const subprocessTimeout = time.Minute

// run runs name args in dir with env and returns trimmed stdout, or an error
// carrying the first line of stderr.
func run(ctx context.Context, env []string, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(firstLine(stderr.String())); msg != "" {
			return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
		}
		return "", fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return strings.TrimSpace(stdout.String()), nil
}

// inspectPackage checks that dir is a Go main package (for the target
// platform) inside a module and returns where the module is.
func inspectPackage(ctx context.Context, env []string, dir string) (pkgInfo, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return pkgInfo{}, fmt.Errorf("%w: %w", ErrNotMain, err)
	}
	if !fi.IsDir() {
		return pkgInfo{}, fmt.Errorf("%w: %s is not a directory; pass --dir DIR of the service's main package", ErrNotMain, dir)
	}
	ctx, cancel := context.WithTimeout(ctx, subprocessTimeout)
	defer cancel()
	out, err := gobuild.Tool{Env: env}.Run(ctx, dir, "list", "-e", "-json=Name,Dir,Module,Error", ".")
	if be := (*gobuild.Error)(nil); errors.As(err, &be) {
		return pkgInfo{}, fmt.Errorf("%w: %s: go list: %w: %s (is it inside a Go module?)", ErrNotMain, dir, be.Err, gobuild.FirstDiagnostic(be.Output))
	} else if err != nil {
		return pkgInfo{}, fmt.Errorf("%w: %s: %w", ErrNotMain, dir, err)
	}
	var p struct {
		Name, Dir string
		Module    *struct{ Dir string }
		Error     *struct{ Err string }
	}
	if err := json.Unmarshal(out, &p); err != nil {
		return pkgInfo{}, fmt.Errorf("%w: %s: go list: %w", ErrNotMain, dir, err)
	}
	switch {
	case p.Error != nil && p.Name == "":
		return pkgInfo{}, fmt.Errorf("%w: %s: %s; run deploy in the directory of the service's main package or pass --dir", ErrNotMain, dir, firstLine(p.Error.Err))
	case p.Name != "main":
		return pkgInfo{}, fmt.Errorf("%w: %s holds package %s; run deploy in the directory of the service's main package or pass --dir", ErrNotMain, dir, p.Name)
	case p.Module == nil || p.Module.Dir == "":
		return pkgInfo{}, fmt.Errorf("%w: %s is not inside a Go module (no go.mod above it)", ErrNotMain, dir)
	}
	return pkgInfo{Dir: p.Dir, ModuleDir: p.Module.Dir}, nil
}

// gitVersion returns `git describe --tags --always --dirty` in dir, or "".
// The result is the same for every build of the same commit and working
// tree; untracked files (such as NAME.tgz itself) do not make it "-dirty".
func gitVersion(ctx context.Context, env []string, dir string) string {
	ctx, cancel := context.WithTimeout(ctx, subprocessTimeout)
	defer cancel()
	out, err := run(ctx, env, dir, "git", "describe", "--tags", "--always", "--dirty")
	if err != nil || checkVersion(out) != nil {
		return ""
	}
	return out
}

// sourceEpoch returns the time stamp of every package entry:
// SOURCE_DATE_EPOCH from env (an error if malformed), else the
// commit time of HEAD of the repository around dir, else DefaultEpoch.
func sourceEpoch(ctx context.Context, env []string, dir string) (time.Time, error) {
	if s, ok := lookupEnv(env, "SOURCE_DATE_EPOCH"); ok && s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > 1<<33 {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds since 1970", s)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	ctx, cancel := context.WithTimeout(ctx, subprocessTimeout)
	defer cancel()
	if out, err := run(ctx, env, dir, "git", "log", "-1", "--format=%ct"); err == nil {
		if n, err := strconv.ParseInt(out, 10, 64); err == nil && n >= 0 {
			return time.Unix(n, 0).UTC(), nil
		}
	}
	return time.Unix(DefaultEpoch, 0).UTC(), nil
}

// lookupEnv finds key in env; the last occurrence wins, as in os/exec.
func lookupEnv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// buildService runs `go build` of the package in dir for goos/goarch into
// out. The build is reproducible (gobuild.Options.Reproducible: it depends
// only on the source, the toolchain and the target) and CGO_ENABLED=0
// (unless cgo) keeps the host's C toolchain out.
func buildService(ctx context.Context, env []string, dir, out, goos, goarch, version string, cgo bool) error {
	cgoEnabled := "0"
	if cgo {
		cgoEnabled = "1"
	}
	err := gobuild.Tool{Env: env}.Build(ctx, gobuild.Options{
		Dir: dir, Output: out, Reproducible: true,
		LDFlags: []string{"-X main.version=" + version},
		Env:     []string{"GOOS=" + goos, "GOARCH=" + goarch, "CGO_ENABLED=" + cgoEnabled},
	})
	var be *gobuild.Error
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("go build in %s: %w", dir, ctx.Err())
	case errors.As(err, &be):
		return &BuildError{Dir: dir, Err: be.Err, Output: be.Output}
	}
	return err
}

// absDir returns dir (or the current directory for "") as an absolute path.
func absDir(dir string) (string, error) {
	if dir == "" {
		dir = "."
	}
	return filepath.Abs(dir)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
