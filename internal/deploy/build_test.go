package deploy

import (
	"archive/tar"
	"context"
	"encoding/json"
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

// TestBuildLayout packages the hello fixture and checks every promise of the
// layout: entries, order, modes, owners, times, gzip header, manifest keys,
// checksum file, and that the packaged service runs with its version.
func TestBuildLayout(t *testing.T) {
	o := helloOptions(t, "Hello")
	o.Version = "1.2.3"
	o.Include = []string{"conf"}
	o.AgentOptions = map[string]string{"instances": "2", "http-address": "127.0.0.1:8080"}
	o.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1700000000")
	var steps []string
	o.Progress = func(p int, s string) { steps = append(steps, s) }
	res, err := Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) < 4 || steps[len(steps)-1] != "done" {
		t.Errorf("progress steps = %q", steps)
	}

	b, err := os.ReadFile(o.Output)
	if err != nil {
		t.Fatal(err)
	}
	if res.Path != o.Output || res.Size != int64(len(b)) || res.SHA256 != sha256sum(b) {
		t.Errorf("result %+v does not describe the file (%d bytes, %s)", res, len(b), sha256sum(b))
	}
	sum, err := os.ReadFile(o.Output + ".sha256")
	if err != nil || string(sum) != res.SHA256+"  Hello.tgz\n" {
		t.Errorf("Hello.tgz.sha256 = %q, %v", sum, err)
	}

	gz, entries := readPackage(t, b)
	if gz.Name != "" || !gz.ModTime.IsZero() || gz.Comment != "" || gz.Extra != nil {
		t.Errorf("gzip header carries name/time/comment/extra: %+v", gz)
	}
	want := []string{
		"Hello/", "Hello/Hello/", "Hello/Hello/Hello", "Hello/Hello/app/", "Hello/Hello/app/Hello",
		"Hello/Hello/conf/", "Hello/Hello/conf/app.yaml", "Hello/Hello/conf/hook.sh", "Hello/Hello/node-agent.json",
	}
	var got []string
	epoch := time.Unix(1700000000, 0)
	for _, e := range entries {
		got = append(got, e.hdr.Name)
		h := e.hdr
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || !h.ModTime.Equal(epoch) ||
			!h.AccessTime.IsZero() || !h.ChangeTime.IsZero() || len(h.PAXRecords) != 0 {
			t.Errorf("%s: header not normalised: %+v", h.Name, h)
		}
		wantMode := int64(0o644)
		if h.Typeflag == tar.TypeDir || slices.Contains([]string{"Hello/Hello/Hello", "Hello/Hello/app/Hello", "Hello/Hello/conf/hook.sh"}, h.Name) {
			wantMode = 0o755
		}
		if h.Mode != wantMode {
			t.Errorf("%s: mode %o, want %o", h.Name, h.Mode, wantMode)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("entries:\n got %q\nwant %q", got, want)
	}

	// The manifest: exactly the agreed keys, in a stable order.
	manifest := entries[len(entries)-1].data
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(manifest, &raw); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	wantKeys := []string{"agent_version", "build_time", "files", "go_version", "goarch", "goos", "http-address", "instances", "main", "manifest_version", "name", "version"}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("manifest keys %q, want %q", keys, wantKeys)
	}
	m := res.Manifest
	if m.Main != "app/Hello" || m.Name != "Hello" || m.Version != "1.2.3" || m.BuildTime != "2023-11-14T22:13:20Z" ||
		m.GOOS != runtime.GOOS || m.GOARCH != runtime.GOARCH || m.GoVersion != runtime.Version() || m.AgentVersion != "unknown" {
		t.Errorf("manifest: %+v", m)
	}
	if len(res.Files) != 4 || res.Files[0].Path != "Hello" || res.Files[1].Path != "app/Hello" {
		t.Errorf("files: %+v", res.Files)
	}
	if _, err := VerifyFile(o.Output); err != nil {
		t.Errorf("VerifyFile: %v", err)
	}

	// The packaged service is the fixture, stamped with the version.
	dir := t.TempDir()
	svc := filepath.Join(dir, "svc")
	if err := os.WriteFile(svc, entries[4].data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(svc).Output()
	if err != nil || string(out) != "hello 1.2.3\n" {
		t.Errorf("packaged service says %q, %v", out, err)
	}
}

// TestBuildReproducible builds the same source twice under a different
// umask, time zone, HOME, USER, working directory, output directory and
// spelling of --dir, and expects the same bytes: testdata/gateway in place
// when it builds (else the hello fixture), and a copy of the hello fixture
// whose file times and owner also change between the builds.
func TestBuildReproducible(t *testing.T) {
	t.Run("in-place", func(t *testing.T) {
		dir := filepath.Join("..", "..", "testdata", "gateway")
		if out, err := exec.Command("go", "build", "-o", os.DevNull, dir).CombinedOutput(); err != nil {
			t.Logf("testdata/gateway does not build yet (%s); packaging testdata/deploy/hello", firstLine(string(out)))
			dir = filepath.Join(fixtures, "hello")
		}
		// Keep the build and module caches: HOME alone must not matter.
		out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
		if err != nil {
			t.Fatal(err)
		}
		v := strings.Split(strings.TrimSpace(string(out)), "\n")
		checkReproducible(t, dir, false, "GOCACHE="+v[0], "GOMODCACHE="+v[1], "GOPATH="+v[2])
	})
	t.Run("touched-copy", func(t *testing.T) {
		mod := t.TempDir()
		copyModule(t, filepath.Join(fixtures, "hello"), mod)
		// A fresh HOME means a cold build cache, as for another user.
		checkReproducible(t, mod, true)
	})
}

func checkReproducible(t *testing.T, dir string, touch bool, env2 ...string) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	agent := standInAgent(t)
	build := func(dir, out string, extra ...string) []byte {
		t.Helper()
		o := Options{Name: "Repro", Dir: dir, Output: out, Agent: agent, Include: []string{"*.go"},
			Env: append(withoutEnv(os.Environ(), "SOURCE_DATE_EPOCH"), extra...)}
		start := time.Now()
		if _, err := Build(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		t.Logf("build took %v", time.Since(start).Round(time.Millisecond))
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	first := build(dir, filepath.Join(t.TempDir(), "a.tgz"), "TZ=UTC")

	// Change everything that must not matter.
	old := setUmask(0o077)
	defer setUmask(old)
	t.Chdir(t.TempDir())
	if touch {
		later := time.Now().Add(-48 * time.Hour)
		filepath.WalkDir(absDir, func(p string, d os.DirEntry, err error) error {
			if err == nil {
				os.Chtimes(p, later, later)
				if os.Geteuid() == 0 {
					os.Lchown(p, 65534, 65534)
				}
			}
			return nil
		})
	}
	env2 = append(env2, "TZ=Asia/Shanghai", "HOME="+t.TempDir(), "USER=nobody", "LANG=C")
	second := build(absDir, filepath.Join(t.TempDir(), "b.tgz"), env2...)
	if sha256sum(first) != sha256sum(second) {
		t.Fatalf("two builds differ: %s vs %s", sha256sum(first), sha256sum(second))
	}
	t.Logf("package: %d bytes, sha256 %s", len(first), sha256sum(first))
}

// TestBuildGitEpochAndVersion: without --version and SOURCE_DATE_EPOCH the
// version is git describe and the time stamp is the last commit's.
func TestBuildGitEpochAndVersion(t *testing.T) {
	mod := t.TempDir()
	copyModule(t, filepath.Join(fixtures, "hello"), mod)
	gitTool := testtool.Require(t, "git", "apt-get install git")
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command(gitTool, args...)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
			"GIT_AUTHOR_DATE=2024-02-03T04:05:06Z", "GIT_COMMITTER_DATE=2024-02-03T04:05:06Z")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v: %s", args, err, out)
		}
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "init")
	git("tag", "v2.0.1")
	// An untracked earlier tarball must not make the version "-dirty".
	os.WriteFile(filepath.Join(mod, "Old.tgz"), []byte("old"), 0o644)

	o := helloOptions(t, "Tagged")
	o.Dir = mod
	o.Env = withoutEnv(os.Environ(), "SOURCE_DATE_EPOCH")
	res, err := Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Manifest.Version != "v2.0.1" || res.Manifest.BuildTime != "2024-02-03T04:05:06Z" {
		t.Errorf("version %q, build_time %q; want v2.0.1, 2024-02-03T04:05:06Z", res.Manifest.Version, res.Manifest.BuildTime)
	}

	// SOURCE_DATE_EPOCH wins over the commit; a malformed one is an error.
	o.Env = append(o.Env, "SOURCE_DATE_EPOCH=86400")
	if res, err = Build(context.Background(), o); err != nil || res.Manifest.BuildTime != "1970-01-02T00:00:00Z" {
		t.Errorf("with SOURCE_DATE_EPOCH: %v, %+v", err, res)
	}
	o.Env = append(o.Env, "SOURCE_DATE_EPOCH=yesterday")
	if _, err = Build(context.Background(), o); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Errorf("malformed SOURCE_DATE_EPOCH: %v", err)
	}
}

// copyModule copies a fixture package that imports only the standard library
// into dst and makes it a module of its own.
func copyModule(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, _ := d.Info()
		return os.WriteFile(filepath.Join(dst, rel), b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "go.mod"), []byte("module example.com/service\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func withoutEnv(env []string, key string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, key+"=") })
}
