package config

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Builder builds Go main packages into a cache keyed by the content of their
// sources, so an unchanged package is built once. It is safe for concurrent
// use, also by several processes sharing CacheDir: a build is written to a
// temporary directory and renamed into place atomically.
type Builder struct {
	// CacheDir is the cache root; entries are CacheDir/<key>/<name>. Required.
	CacheDir string
	// GoTool is the go command to run; "" finds "go" in PATH.
	GoTool string
	// LookupEnv reads PATH when GoTool is ""; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Env is the go tool's environment; nil means the process environment.
	Env []string
	// Exec runs a go command to completion, as cmd.Run does, and kills it
	// when ctx ends; nil means exec.CommandContext and Run. The agent sets
	// it so --watch rebuilds are waited for by its reaper, the one place
	// that waits for its children.
	Exec func(ctx context.Context, cmd *exec.Cmd) error
}

// BuildResult describes a built (or reused) executable.
type BuildResult struct {
	// Path is the absolute path of the executable.
	Path string
	// Key is the content hash naming the cache entry.
	Key string
	// Reused is true when the cache already held the executable and no
	// build ran.
	Reused bool
}

// buildEnvVars are the go env settings that change the produced binary.
var buildEnvVars = []string{
	"GOVERSION", "GOOS", "GOARCH", "CGO_ENABLED", "GOFLAGS", "GOEXPERIMENT", "GOWORK", "GOFIPS140",
	"GOAMD64", "GO386", "GOARM", "GOARM64", "GOMIPS", "GOMIPS64", "GOPPC64", "GORISCV64", "GOWASM",
}

// listedPackage is the part of `go list -json` the cache key needs.
type listedPackage struct {
	ImportPath string
	Dir        string
	Module     *struct {
		Path    string
		Main    bool
		GoMod   string
		Replace *struct{ Path, Version string }
	}
	GoFiles, CgoFiles, CFiles, CXXFiles, MFiles, HFiles, FFiles, SFiles, SysoFiles, EmbedFiles []string
}

// BuildGoEntry builds the Go main package in dir into cacheDir (or reuses
// the cached build) and returns the executable's path. It is Builder.Build
// with the defaults; --watch calls it when sources change.
func BuildGoEntry(dir, cacheDir string) (string, error) {
	r, err := (&Builder{CacheDir: cacheDir}).Build(context.Background(), dir)
	return r.Path, err
}

// Build returns the executable of the Go main package in dir (absolute),
// building it unless the cache holds one with the same key. The key hashes
// the content of every source and embedded file of every package of the main
// module (and of local replacements) that the package depends on, the main
// module's go.mod and go.sum (hence the versions of all other modules), the
// go version and the go env settings that change the output (GOOS, GOARCH,
// CGO_ENABLED, GOFLAGS, ...). A missing go tool or a failed build is a
// *UsageError; the latter carries the compiler output's first lines.
func (b *Builder) Build(ctx context.Context, dir string) (BuildResult, error) {
	if b.CacheDir == "" {
		return BuildResult{}, errors.New("go build cache: no cache directory")
	}
	gotool, err := b.goTool()
	if err != nil {
		return BuildResult{}, usageWrap(err, "entry %s is Go source but `go` was not found in PATH", dir)
	}
	key, err := b.key(ctx, gotool, dir)
	if err != nil {
		return BuildResult{}, err
	}
	name := filepath.Base(dir)
	final := filepath.Join(b.CacheDir, key, name)
	if fi, err := os.Stat(final); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
		return BuildResult{Path: final, Key: key, Reused: true}, nil
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return BuildResult{}, fmt.Errorf("go build cache: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(final), ".build-")
	if err != nil {
		return BuildResult{}, fmt.Errorf("go build cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, name)
	if _, err := b.run(ctx, gotool, dir, "build", "-buildvcs=false", "-o", out, "."); err != nil {
		return BuildResult{}, usageWrap(err, "entry %s: go build failed", dir)
	}
	if err := os.Rename(out, final); err != nil {
		return BuildResult{}, fmt.Errorf("go build cache: %w", err)
	}
	return BuildResult{Path: final, Key: key}, nil
}

// key computes the cache key of the package in dir.
func (b *Builder) key(ctx context.Context, gotool, dir string) (string, error) {
	h := sha256.New()
	env, err := b.run(ctx, gotool, dir, append([]string{"env", "-json"}, buildEnvVars...)...)
	if err != nil {
		return "", usageWrap(err, "entry %s: go env failed", dir)
	}
	fmt.Fprintf(h, "env %d\n%s\n", len(env), env)
	var goenv struct{ GOWORK string }
	_ = json.Unmarshal(env, &goenv)

	listing, err := b.run(ctx, gotool, dir, "list", "-deps",
		"-json=ImportPath,Dir,Module,GoFiles,CgoFiles,CFiles,CXXFiles,MFiles,HFiles,FFiles,SFiles,SysoFiles,EmbedFiles", ".")
	if err != nil {
		return "", usageWrap(err, "entry %s: go list failed", dir)
	}
	modFiles := map[string]bool{}
	if goenv.GOWORK != "" && goenv.GOWORK != "off" {
		modFiles[goenv.GOWORK] = true
		modFiles[goenv.GOWORK+".sum"] = true
	}
	dec := json.NewDecoder(bytes.NewReader(listing))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", fmt.Errorf("entry %s: reading go list output: %w", dir, err)
		}
		m := p.Module
		if m == nil || !(m.Main || m.Replace != nil && m.Replace.Version == "") {
			continue // standard library or a versioned module: covered by GOVERSION and go.sum
		}
		if m.GoMod != "" {
			modFiles[m.GoMod] = true
			modFiles[strings.TrimSuffix(m.GoMod, ".mod")+".sum"] = true
		}
		fmt.Fprintf(h, "package %s\n", p.ImportPath)
		files := slices.Concat(p.GoFiles, p.CgoFiles, p.CFiles, p.CXXFiles, p.MFiles, p.HFiles, p.FFiles, p.SFiles, p.SysoFiles, p.EmbedFiles)
		slices.Sort(files)
		for _, f := range slices.Compact(files) {
			if err := hashFile(h, filepath.Join(p.Dir, f), f); err != nil {
				return "", fmt.Errorf("entry %s: %w", dir, err)
			}
		}
	}
	mods := make([]string, 0, len(modFiles))
	for f := range modFiles {
		mods = append(mods, f)
	}
	slices.Sort(mods)
	for _, f := range mods {
		if err := hashFile(h, f, f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("entry %s: %w", dir, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// hashFile writes the label, the length and the content of file into h.
func hashFile(h io.Writer, file, label string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("hashing sources: %w", err)
	}
	fmt.Fprintf(h, "file %q %d\n", label, len(data))
	_, err = h.Write(data)
	return err
}

// run runs the go tool in dir and returns its stdout. On failure the error
// holds the first lines of its stderr.
func (b *Builder) run(ctx context.Context, gotool, dir string, args ...string) ([]byte, error) {
	var cmd *exec.Cmd
	if b.Exec == nil {
		cmd = exec.CommandContext(ctx, gotool, args...)
	} else {
		cmd = exec.Command(gotool, args...) // Exec watches ctx itself
	}
	cmd.Dir = dir
	cmd.Env = b.Env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var err error
	if b.Exec == nil {
		err = cmd.Run()
	} else {
		err = b.Exec(ctx, cmd)
	}
	if err != nil {
		if msg := firstLines(stderr.String(), 10); msg != "" {
			return nil, fmt.Errorf("%w\n%s", err, msg)
		}
		return nil, err
	}
	return stdout.Bytes(), nil
}

// firstLines returns at most n lines of s, noting how many were left out.
func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) <= n {
		return strings.Join(lines, "\n")
	}
	return strings.Join(lines[:n], "\n") + fmt.Sprintf("\n... (%d more lines)", len(lines)-n)
}

// goTool returns the go command: GoTool, else "go" searched in PATH.
func (b *Builder) goTool() (string, error) {
	if b.GoTool != "" {
		return b.GoTool, nil
	}
	lookup := b.LookupEnv
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
			if !filepath.IsAbs(p) {
				if abs, err := filepath.Abs(p); err == nil {
					p = abs
				}
			}
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}
