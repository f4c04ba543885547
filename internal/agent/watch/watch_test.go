package watch_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/internal/agent/config"
	"github.com/nodeagent/node-agent/internal/agent/watch"
	"github.com/nodeagent/node-agent/internal/testtool"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// debounce is short in tests; the writes of one burst are microseconds
// apart.
const debounce = 50 * time.Millisecond

// waitTimeout bounds every wait for an event.
const waitTimeout = 10 * time.Second

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

// replace writes content next to path and renames it over path, as a
// deployment does.
func replace(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp-new"
	write(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// swapLink points the symlink link at target atomically (new link, rename).
func swapLink(t *testing.T, target, link string) {
	t.Helper()
	tmp := link + ".tmp-link"
	if err := os.Symlink(target, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
}

// start creates a watcher that also watches a config file (the sentinel)
// and closes it at the end of the test.
func start(t *testing.T, cfg watch.Config) (*watch.Watcher, string) {
	t.Helper()
	if cfg.ConfigFile == "" {
		cfg.ConfigFile = filepath.Join(t.TempDir(), "app.conf")
		write(t, cfg.ConfigFile, "<tars>\n</tars>\n")
	}
	cfg.Debounce = debounce
	w, err := watch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	})
	return w, cfg.ConfigFile
}

func next(t *testing.T, w *watch.Watcher) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.Events():
		if !ok {
			t.Fatal("events channel closed")
		}
		return ev
	case <-time.After(waitTimeout):
		t.Fatal("no event")
		return nil
	}
}

// noMore proves that no event other than the sentinel's is coming: it
// rewrites the config file and the next event must be its ConfigChanged.
// Events of earlier changes would have been sent before it.
func noMore(t *testing.T, w *watch.Watcher, conf string) {
	t.Helper()
	replace(t, conf, "<tars>\n# sentinel "+time.Now().String()+"\n</tars>\n")
	if ev := next(t, w); ev != (watch.ConfigChanged{Path: conf}) {
		t.Fatalf("got %#v, want only the sentinel's ConfigChanged", ev)
	}
}

func TestBinaryReplacedByRename(t *testing.T) {
	entry := filepath.Join(t.TempDir(), "server")
	write(t, entry, "v1")
	w, conf := start(t, watch.Config{Entry: entry})
	replace(t, entry, "v2")
	if ev := next(t, w); ev != (watch.BinaryChanged{Path: entry}) {
		t.Fatalf("got %#v", ev)
	}
	noMore(t, w, conf)
}

func TestBinaryWrittenInPlace(t *testing.T) {
	entry := filepath.Join(t.TempDir(), "server")
	write(t, entry, "v1")
	w, conf := start(t, watch.Config{Entry: entry})
	f, err := os.OpenFile(entry, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	chunk := strings.Repeat("x", 4096)
	for range 64 {
		if _, err := f.WriteString(chunk); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	if ev := next(t, w); ev != (watch.BinaryChanged{Path: entry}) {
		t.Fatalf("got %#v", ev)
	}
	noMore(t, w, conf)
}

func TestBinaryRemovedThenCopied(t *testing.T) {
	entry := filepath.Join(t.TempDir(), "server")
	write(t, entry, "v1")
	w, conf := start(t, watch.Config{Entry: entry})
	if err := os.Remove(entry); err != nil {
		t.Fatal(err)
	}
	write(t, entry, "v2, longer")
	if ev := next(t, w); ev != (watch.BinaryChanged{Path: entry}) {
		t.Fatalf("got %#v", ev)
	}
	noMore(t, w, conf)
}

func TestBinarySymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "server-v1"), "v1")
	write(t, filepath.Join(dir, "server-v2"), "v2")
	entry := filepath.Join(dir, "server")
	if err := os.Symlink("server-v1", entry); err != nil {
		t.Fatal(err)
	}
	w, conf := start(t, watch.Config{Entry: entry})
	swapLink(t, "server-v2", entry)
	if ev := next(t, w); ev != (watch.BinaryChanged{Path: entry}) {
		t.Fatalf("got %#v", ev)
	}
	noMore(t, w, conf)
	// The old target changing is none of the entry's business any more.
	write(t, filepath.Join(dir, "server-v1"), "v1 again")
	noMore(t, w, conf)
}

// TestBinaryDirectorySymlinkSwap: /app/current -> releases/rN, entry
// /app/current/server; the release switch renames a new "current" link.
func TestBinaryDirectorySymlinkSwap(t *testing.T) {
	app := t.TempDir()
	write(t, filepath.Join(app, "releases", "r1", "server"), "r1")
	write(t, filepath.Join(app, "releases", "r2", "server"), "r2")
	if err := os.Symlink("releases/r1", filepath.Join(app, "current")); err != nil {
		t.Fatal(err)
	}
	entry := filepath.Join(app, "current", "server")
	w, conf := start(t, watch.Config{Entry: entry})
	swapLink(t, "releases/r2", filepath.Join(app, "current"))
	if ev := next(t, w); ev != (watch.BinaryChanged{Path: entry}) {
		t.Fatalf("got %#v", ev)
	}
	noMore(t, w, conf)
	// The new target is watched after the swap.
	replace(t, filepath.Join(app, "releases", "r2", "server"), "r2 fixed")
	if ev := next(t, w); ev != (watch.BinaryChanged{Path: entry}) {
		t.Fatalf("after the swap: got %#v", ev)
	}
	noMore(t, w, conf)
}

func TestConfigChanged(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "app.conf")
	write(t, conf, "<tars>\n</tars>\n")
	w, _ := start(t, watch.Config{ConfigFile: conf})
	write(t, conf, "<tars>\n<application>\n</application>\n</tars>\n") // in place, as most editors
	if ev := next(t, w); ev != (watch.ConfigChanged{Path: conf}) {
		t.Fatalf("got %#v", ev)
	}
	noMore(t, w, conf)
}

// fakeBuild stands for config.Builder over a module: the executable's path
// is named by the content of the module's .go files, as the real cache key
// is, so an unchanged module yields the same path.
type fakeBuild struct {
	dir   string
	calls atomic.Int32
	fail  atomic.Bool
}

func (b *fakeBuild) build(context.Context) (string, error) {
	b.calls.Add(1)
	if b.fail.Load() {
		return "", errors.New("entry: go build failed\n./main.go:3:1: syntax error: non-declaration statement outside function body")
	}
	return b.path(), nil
}

func (b *fakeBuild) path() string {
	h := sha256.New()
	filepath.WalkDir(b.dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && p != b.dir {
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil || strings.ContainsAny(d.Name()[:1], "._") || d.Name() == "testdata" {
				return filepath.SkipDir // not part of the build, as for the go tool
			}
		}
		if strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			data, _ := os.ReadFile(p)
			h.Write([]byte(p))
			h.Write(data)
		}
		return nil
	})
	return "/cache/" + hex.EncodeToString(h.Sum(nil))[:16] + "/server"
}

// module writes a small module: go.mod at the root, the main package in
// cmd/server.
func module(t *testing.T) (root, pkg string) {
	t.Helper()
	root = t.TempDir()
	pkg = filepath.Join(root, "cmd", "server")
	write(t, filepath.Join(root, "go.mod"), "module example.com/m\n\ngo 1.22\n")
	write(t, filepath.Join(pkg, "main.go"), "package main\n\nfunc main() {}\n")
	write(t, filepath.Join(root, "lib", "lib.go"), "package lib\n")
	return root, pkg
}

func TestSourceEditRebuilds(t *testing.T) {
	root, pkg := module(t)
	b := &fakeBuild{dir: root}
	w, conf := start(t, watch.Config{Entry: b.path(), SourceDir: pkg, Build: b.build})

	write(t, filepath.Join(root, "lib", "lib.go"), "package lib\n\nconst X = 1\n") // another package of the module
	if ev := next(t, w); ev != (watch.Rebuilt{Path: b.path()}) {
		t.Fatalf("got %#v", ev)
	}
	noMore(t, w, conf)
	if n := b.calls.Load(); n != 1 {
		t.Fatalf("build called %d times, want 1", n)
	}
}

// TestSourceEditorSaves: vim's save (4913 probe, backup by rename, new
// file, backup removed) and a save by rename are one rebuild each.
func TestSourceEditorSaves(t *testing.T) {
	_, pkg := module(t)
	b := &fakeBuild{dir: pkg}
	w, conf := start(t, watch.Config{Entry: b.path(), SourceDir: pkg, Build: b.build})
	main := filepath.Join(pkg, "main.go")

	write(t, filepath.Join(pkg, "4913"), "")
	os.Remove(filepath.Join(pkg, "4913"))
	write(t, filepath.Join(pkg, ".main.go.swp"), "swap")
	if err := os.Rename(main, main+"~"); err != nil {
		t.Fatal(err)
	}
	write(t, main, "package main\n\nfunc main() { println(1) }\n")
	os.Remove(main + "~")
	if ev := next(t, w); ev != (watch.Rebuilt{Path: b.path()}) {
		t.Fatalf("vim save: got %#v", ev)
	}
	replace(t, main, "package main\n\nfunc main() { println(2) }\n")
	if ev := next(t, w); ev != (watch.Rebuilt{Path: b.path()}) {
		t.Fatalf("save by rename: got %#v", ev)
	}
	noMore(t, w, conf)
	if n := b.calls.Load(); n != 2 {
		t.Fatalf("build called %d times, want 2", n)
	}
}

func TestSourceBuildFailed(t *testing.T) {
	root, pkg := module(t)
	b := &fakeBuild{dir: root}
	w, conf := start(t, watch.Config{Entry: b.path(), SourceDir: pkg, Build: b.build})
	b.fail.Store(true)
	write(t, filepath.Join(pkg, "main.go"), "package main\n\nbroken\n")
	ev := next(t, w)
	if f, ok := ev.(watch.BuildFailed); !ok || !strings.Contains(f.Err.Error(), "syntax error") {
		t.Fatalf("got %#v, want BuildFailed with the compiler output", ev)
	}
	b.fail.Store(false)
	write(t, filepath.Join(pkg, "main.go"), "package main\n\nfunc main() { println(3) }\n")
	if ev := next(t, w); ev != (watch.Rebuilt{Path: b.path()}) {
		t.Fatalf("after the fix: got %#v", ev)
	}
	noMore(t, w, conf)
}

// TestSourceUnrelatedChanges: editor leftovers, VCS, tests, testdata,
// ignored directories, nested modules and files outside the module call
// no build; a file of the module the build does not use calls one build
// that finds the same executable, and yields no event.
func TestSourceUnrelatedChanges(t *testing.T) {
	root, pkg := module(t)
	write(t, filepath.Join(root, "nested", "go.mod"), "module example.com/n\n")
	write(t, filepath.Join(root, ".git", "HEAD"), "ref: refs/heads/main\n")
	write(t, filepath.Join(root, "logs", "app.log"), "")
	b := &fakeBuild{dir: root}
	w, conf := start(t, watch.Config{Entry: b.path(), SourceDir: pkg, Build: b.build,
		Ignore: []string{filepath.Join(root, "logs")}})

	for _, p := range []string{
		".git/HEAD", ".git/index", "cmd/server/.main.go.swp", "cmd/server/main.go~", "cmd/server/4913",
		"cmd/server/#main.go#", "cmd/server/main_test.go", "testdata/golden.txt", "logs/app.log",
		"nested/x.go", "_scratch/x.go", ".hidden",
	} {
		write(t, filepath.Join(root, p), "noise")
	}
	write(t, filepath.Join(filepath.Dir(root), "outside.go"), "package outside\n")
	noMore(t, w, conf)
	if n := b.calls.Load(); n != 0 {
		t.Fatalf("build called %d times for unrelated files", n)
	}

	write(t, filepath.Join(root, "README.md"), "# m\n")
	waitFor(t, "the build of a possible input", func() bool { return b.calls.Load() == 1 })
	noMore(t, w, conf)
}

func TestSourceNewDirectory(t *testing.T) {
	root, pkg := module(t)
	b := &fakeBuild{dir: root}
	w, conf := start(t, watch.Config{Entry: b.path(), SourceDir: pkg, Build: b.build})
	write(t, filepath.Join(root, "internal", "store", "store.go"), "package store\n") // mkdir -p, then the file
	if ev := next(t, w); ev != (watch.Rebuilt{Path: b.path()}) {
		t.Fatalf("got %#v", ev)
	}
	write(t, filepath.Join(root, "internal", "store", "store.go"), "package store\n\nconst Y = 2\n")
	if ev := next(t, w); ev != (watch.Rebuilt{Path: b.path()}) {
		t.Fatalf("edit in the new directory: got %#v", ev)
	}
	noMore(t, w, conf)
}

// TestSourceChangeDuringBuild: changes while a build runs start one more
// build after it, never two at once.
func TestSourceChangeDuringBuild(t *testing.T) {
	root, pkg := module(t)
	fb := &fakeBuild{dir: root}
	started, release := make(chan struct{}, 4), make(chan struct{})
	var running atomic.Int32
	build := func(ctx context.Context) (string, error) {
		if running.Add(1) > 1 {
			t.Error("two builds at once")
		}
		defer running.Add(-1)
		started <- struct{}{}
		<-release
		return fb.build(ctx)
	}
	w, conf := start(t, watch.Config{Entry: fb.path(), SourceDir: pkg, Build: build})
	write(t, filepath.Join(pkg, "main.go"), "package main\n\nfunc main() { println(4) }\n")
	<-started
	write(t, filepath.Join(pkg, "main.go"), "package main\n\nfunc main() { println(5) }\n")
	release <- struct{}{} // the first build ends; the second starts
	<-started
	release <- struct{}{}
	var last watch.Event
	for last != (watch.Rebuilt{Path: fb.path()}) {
		last = next(t, w)
		if _, ok := last.(watch.Rebuilt); !ok {
			t.Fatalf("got %#v", last)
		}
	}
	noMore(t, w, conf)
	if n := fb.calls.Load(); n != 2 {
		t.Fatalf("%d builds, want 2", n)
	}
}

// TestCloseCancelsBuild: Close returns while a build runs, having canceled
// it; goleak (TestMain) checks that nothing is left.
func TestCloseCancelsBuild(t *testing.T) {
	_, pkg := module(t)
	started := make(chan struct{})
	var canceled atomic.Bool
	build := func(ctx context.Context) (string, error) {
		close(started)
		<-ctx.Done()
		canceled.Store(true)
		return "", ctx.Err()
	}
	conf := filepath.Join(t.TempDir(), "app.conf")
	write(t, conf, "")
	w, err := watch.New(watch.Config{Entry: "/cache/x/server", SourceDir: pkg, Build: build, ConfigFile: conf, Debounce: debounce})
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(pkg, "main.go"), "package main\n\nfunc main() { println(6) }\n")
	<-started
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !canceled.Load() {
		t.Fatal("the build was not canceled")
	}
	if _, ok := <-w.Events(); ok {
		t.Fatal("events channel open after Close")
	}
	w.Close() // idempotent
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	for name, cfg := range map[string]watch.Config{
		"missing entry":       {Entry: filepath.Join(dir, "nope")},
		"missing config":      {ConfigFile: filepath.Join(dir, "nope.conf")},
		"sources, no builder": {SourceDir: dir},
		"missing source dir":  {SourceDir: filepath.Join(dir, "nope"), Build: func(context.Context) (string, error) { return "", nil }},
	} {
		if w, err := watch.New(cfg); err == nil {
			w.Close()
			t.Errorf("%s: no error", name)
		}
	}
	loop := filepath.Join(dir, "loop")
	os.Symlink("loop", loop)
	if w, err := watch.New(watch.Config{Entry: loop}); err == nil {
		w.Close()
		t.Error("symlink loop: no error")
	}
}

// TestRealBuilder drives config.Builder, as the agent will: an edit
// rebuilds into a new cache entry; a compile error is BuildFailed with the
// compiler's message, and the fix builds again.
func TestRealBuilder(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build")
	}
	testtool.Require(t, "go", "https://go.dev/dl")
	root, pkg := module(t)
	builder := &config.Builder{CacheDir: t.TempDir()}
	var mu sync.Mutex
	build := func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		r, err := builder.Build(ctx, pkg)
		return r.Path, err
	}
	first, err := build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w, conf := start(t, watch.Config{Entry: first, SourceDir: pkg, Build: build})
	_ = root

	write(t, filepath.Join(pkg, "main.go"), "package main\n\nfunc main() { undefinedName() }\n")
	ev := next(t, w)
	if f, ok := ev.(watch.BuildFailed); !ok || !strings.Contains(f.Err.Error(), "undefinedName") {
		t.Fatalf("got %#v, want BuildFailed naming undefinedName", ev)
	}
	write(t, filepath.Join(pkg, "main.go"), "package main\n\nfunc main() { println(\"v2\") }\n")
	ev = next(t, w)
	r, ok := ev.(watch.Rebuilt)
	if !ok || r.Path == first {
		t.Fatalf("got %#v, want Rebuilt with a new path", ev)
	}
	if fi, err := os.Stat(r.Path); err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("rebuilt executable: %v", err)
	}
	noMore(t, w, conf)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSourceEntryUnderTestdata: an entry package under testdata/ (the
// reference gateway) is watched, with its own subpackages, though the go
// tool skips testdata elsewhere; the other files of testdata/ are not.
func TestSourceEntryUnderTestdata(t *testing.T) {
	root, _ := module(t)
	pkg := filepath.Join(root, "testdata", "gateway")
	write(t, filepath.Join(pkg, "main.go"), "package main\n\nfunc main() {}\n")
	write(t, filepath.Join(pkg, "internal", "store", "store.go"), "package store\n")
	b := &fakeBuild{dir: pkg} // its binary depends on the package's files
	w, conf := start(t, watch.Config{Entry: b.path(), SourceDir: pkg, Build: b.build})

	write(t, filepath.Join(root, "testdata", "golden.txt"), "noise")
	write(t, filepath.Join(pkg, "testdata", "fixture.json"), "{}")
	noMore(t, w, conf)
	if n := b.calls.Load(); n != 0 {
		t.Fatalf("build called %d times for testdata files beside the entry", n)
	}
	for i, p := range []string{filepath.Join(pkg, "main.go"), filepath.Join(pkg, "internal", "store", "store.go")} {
		write(t, p, fmt.Sprintf("package x\n\nconst V = %d\n", i))
		if ev := next(t, w); ev != (watch.Rebuilt{Path: b.path()}) {
			t.Fatalf("after editing %s: got %#v", p, ev)
		}
	}
}
