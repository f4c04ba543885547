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
	"path/filepath"
	"slices"
	"strings"

	"github.com/nodeagent/node-agent/internal/gobuild"
)

// Builder builds Go main packages into a cache keyed by the content of their
// sources, so an unchanged package is built once. It is safe for concurrent
// use, also by several processes sharing CacheDir: a build is written to a
// temporary directory and renamed into place atomically.
type Builder struct {
	// CacheDir is the cache root; entries are CacheDir/<key>/<name>. Required.
	CacheDir string
	// Go runs the go command. The agent sets its Exec so --watch rebuilds
	// are waited for by its reaper, the one place that waits for its
	// children.
	Go gobuild.Tool
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

// Build returns the executable of the Go main package in dir (absolute),
// building it unless the cache holds one with the same key. The key hashes
// the content of every source and embedded file of every package of the main
// module (and of local replacements) that the package depends on, the main
// module's go.mod and go.sum (hence the versions of all other modules), the
// go version and the go env settings that change the output (GOOS, GOARCH,
// CGO_ENABLED, GOFLAGS, ...). A missing go tool or a failed build is a
// *UsageError; the latter carries the compiler output's first lines.
func (b *Builder) Build(ctx context.Context, dir string) (_ BuildResult, err error) {
	if b.CacheDir == "" {
		return BuildResult{}, errors.New("go build cache: no cache directory")
	}
	tool := b.Go
	tool.Path, err = b.Go.Resolve() // once for the three commands
	if err != nil {
		return BuildResult{}, usageWrap(err, "entry %s is Go source but `go` was not found in PATH", dir)
	}
	key, err := cacheKey(ctx, tool, dir)
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
	if err := tool.Build(ctx, gobuild.Options{Dir: dir, Output: out, NoVCS: true}); err != nil {
		return BuildResult{}, usageWrap(err, "entry %s: go build failed", dir)
	}
	if err := os.Rename(out, final); err != nil {
		return BuildResult{}, fmt.Errorf("go build cache: %w", err)
	}
	return BuildResult{Path: final, Key: key}, nil
}

// cacheKey computes the cache key of the package in dir.
func cacheKey(ctx context.Context, tool gobuild.Tool, dir string) (string, error) {
	h := sha256.New()
	env, err := tool.Run(ctx, dir, append([]string{"env", "-json"}, buildEnvVars...)...)
	if err != nil {
		return "", usageWrap(err, "entry %s: go env failed", dir)
	}
	fmt.Fprintf(h, "env %d\n%s\n", len(env), env)
	var goenv struct{ GOWORK string }
	_ = json.Unmarshal(env, &goenv)

	listing, err := tool.Run(ctx, dir, "list", "-deps",
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
