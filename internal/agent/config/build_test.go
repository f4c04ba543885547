package config

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nodeagent/node-agent/internal/gobuild"
	"github.com/nodeagent/node-agent/internal/testtool"
)

// goModule writes a tiny main module: main imports ./greet, which embeds
// msg.txt. It returns the module (and main package) directory.
func goModule(t *testing.T) string {
	t.Helper()
	testtool.Require(t, "go", "https://go.dev/dl")
	dir := filepath.Join(t.TempDir(), "hello")
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/hello\n\ngo 1.22\n", 0o644)
	writeFile(t, filepath.Join(dir, "main.go"), `package main

import (
	"fmt"

	"example.com/hello/greet"
)

func main() { fmt.Print(greet.Msg) }
`, 0o644)
	writeFile(t, filepath.Join(dir, "main_test.go"), "package main\n", 0o644)
	writeFile(t, filepath.Join(dir, "README"), "docs\n", 0o644)
	writeFile(t, filepath.Join(dir, "greet", "greet.go"), `package greet

import _ "embed"

//go:embed msg.txt
var Msg string
`, 0o644)
	writeFile(t, filepath.Join(dir, "greet", "msg.txt"), "hi", 0o644)
	return dir
}

func runOutput(t *testing.T, exe string) string {
	t.Helper()
	out, err := exec.Command(exe).Output()
	if err != nil {
		t.Fatalf("running %s: %v", exe, err)
	}
	return string(out)
}

// TestBuilderCache: built once, reused while nothing relevant changes,
// rebuilt when a dependency's embedded file or go.mod changes.
func TestBuilderCache(t *testing.T) {
	dir := goModule(t)
	b := &Builder{CacheDir: filepath.Join(t.TempDir(), "cache")}
	ctx := context.Background()

	r1, err := b.Build(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Reused || filepath.Dir(filepath.Dir(r1.Path)) != b.CacheDir || filepath.Base(r1.Path) != "hello" {
		t.Fatalf("first build = %+v", r1)
	}
	if got := runOutput(t, r1.Path); got != "hi" {
		t.Errorf("output %q", got)
	}

	// Unchanged sources, or changes outside the build (tests, docs): no rebuild.
	writeFile(t, filepath.Join(dir, "main_test.go"), "package main\n\n// changed\n", 0o644)
	writeFile(t, filepath.Join(dir, "README"), "more docs\n", 0o644)
	r2, err := b.Build(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !r2.Reused || r2.Path != r1.Path {
		t.Errorf("second build = %+v; want reuse of %s", r2, r1.Path)
	}
	if r, err := (&Builder{CacheDir: b.CacheDir}).Build(ctx, dir); err != nil || r.Path != r1.Path || !r.Reused {
		t.Errorf("another Builder on the same cache = %+v, %v; want the cached %s", r, err, r1.Path)
	}
	if entries, _ := os.ReadDir(b.CacheDir); len(entries) != 1 {
		t.Errorf("cache holds %d entries; want 1", len(entries))
	}

	// An embedded file of a dependency in the main module changes.
	writeFile(t, filepath.Join(dir, "greet", "msg.txt"), "hello", 0o644)
	r3, err := b.Build(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if r3.Reused || r3.Key == r1.Key {
		t.Errorf("after editing msg.txt: %+v; want a new build", r3)
	}
	if got := runOutput(t, r3.Path); got != "hello" {
		t.Errorf("output %q; want hello", got)
	}

	// go.mod changes.
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/hello\n\ngo 1.22\n\n// edited\n", 0o644)
	if r4, err := b.Build(ctx, dir); err != nil || r4.Reused || r4.Key == r3.Key {
		t.Errorf("after editing go.mod: %+v, %v; want a new build", r4, err)
	}

	// Concurrent builds of the same sources agree and leave no temporaries.
	writeFile(t, filepath.Join(dir, "greet", "msg.txt"), "concurrent", 0o644)
	var wg sync.WaitGroup
	paths := make([]string, 2)
	for i := range paths {
		wg.Go(func() {
			r, err := b.Build(ctx, dir)
			if err != nil {
				t.Error(err)
			}
			paths[i] = r.Path
		})
	}
	wg.Wait()
	if paths[0] != paths[1] || runOutput(t, paths[0]) != "concurrent" {
		t.Errorf("concurrent builds: %q", paths)
	}
	leftovers, _ := filepath.Glob(filepath.Join(b.CacheDir, "*", ".build-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary build directories left: %q", leftovers)
	}
}

func TestBuilderErrors(t *testing.T) {
	dir := goModule(t)
	writeFile(t, filepath.Join(dir, "main.go"), "package main\n\nfunc main() { undefinedThing() }\n", 0o644)
	b := &Builder{CacheDir: filepath.Join(t.TempDir(), "cache")}
	_, err := b.Build(context.Background(), dir)
	wantUsageError(t, err, "entry "+dir, "go build failed", "main.go:3", "undefined")

	noGo := &Builder{CacheDir: b.CacheDir, Go: gobuild.Tool{LookupEnv: func(k string) (string, bool) {
		if k == "PATH" {
			return t.TempDir(), true
		}
		return "", false
	}}}
	_, err = noGo.Build(context.Background(), dir)
	wantUsageError(t, err, "is Go source but `go` was not found in PATH")

	if _, err := (&Builder{}).Build(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "no cache directory") {
		t.Errorf("Build without CacheDir: %v", err)
	}
}

// TestLoadBuildsGoEntry: `node-agent ./hello -i 2` builds once, then reuses.
func TestLoadBuildsGoEntry(t *testing.T) {
	dir := goModule(t)
	opts, _ := testOpts(t, filepath.Dir(dir))
	c, err := Load([]string{"./hello", "-i", "2"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "hello" || c.Instances != 2 || c.Entry.Dir != dir || c.Entry.SourceDir != dir ||
		!strings.HasPrefix(c.Entry.Path, opts.CacheDir+string(filepath.Separator)) {
		t.Fatalf("Load = %+v", c)
	}
	fi1, err := os.Stat(c.Entry.Path)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Load([]string{"./hello"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	fi2, err := os.Stat(c2.Entry.Path)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Entry.Path != c.Entry.Path || !os.SameFile(fi1, fi2) || !fi1.ModTime().Equal(fi2.ModTime()) {
		t.Errorf("second Load rebuilt: %s", c2.Entry.Path)
	}

	// Default cache directory from XDG_CACHE_HOME, then HOME.
	xdg := t.TempDir()
	opts.CacheDir = ""
	opts.LookupEnv = func(k string) (string, bool) {
		if k == "XDG_CACHE_HOME" {
			return xdg, true
		}
		return os.LookupEnv(k)
	}
	c3, err := Load([]string{"./hello"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c3.Entry.Path, filepath.Join(xdg, "node-agent", "build")+string(filepath.Separator)) {
		t.Errorf("default cache path %s not under XDG_CACHE_HOME", c3.Entry.Path)
	}
	opts.LookupEnv = func(k string) (string, bool) {
		if k == "PATH" {
			return os.LookupEnv(k)
		}
		return "", false
	}
	_, err = Load([]string{"./hello"}, opts)
	wantUsageError(t, err, "set XDG_CACHE_HOME or HOME")
}
