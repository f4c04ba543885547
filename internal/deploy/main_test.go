package deploy

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/internal/gobuild"
	"go.uber.org/goleak"
)

// fixtures are the test programs under testdata/deploy of the module.
var fixtures = filepath.Join("..", "..", "testdata", "deploy")

// shared holds binaries built once for all tests, removed by TestMain.
var shared struct {
	dir  string
	once map[string]*sync.Once
	mu   sync.Mutex
	bins map[string]string
	errs map[string]error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "deploy-test-*")
	if err != nil {
		panic(err)
	}
	shared.dir = dir
	shared.once, shared.bins, shared.errs = map[string]*sync.Once{}, map[string]string{}, map[string]error{}
	code := 0
	func() {
		defer os.RemoveAll(dir)
		goleak.VerifyTestMain(m, goleak.Cleanup(func(c int) { code = c }))
	}()
	os.Exit(code)
}

// fixtureBinary builds the fixture program pkg for goos/goarch once per test
// run and returns its path.
func fixtureBinary(t testing.TB, pkg, goos, goarch string) string {
	t.Helper()
	key := pkg + "-" + goos + "-" + goarch
	shared.mu.Lock()
	once := shared.once[key]
	if once == nil {
		once = new(sync.Once)
		shared.once[key] = once
	}
	shared.mu.Unlock()
	once.Do(func() {
		out := filepath.Join(shared.dir, key)
		err := gobuild.Tool{}.Build(context.Background(), gobuild.Options{Dir: filepath.Join(fixtures, pkg), Output: out,
			Env: []string{"GOOS=" + goos, "GOARCH=" + goarch, "CGO_ENABLED=0"}})
		shared.mu.Lock()
		defer shared.mu.Unlock()
		if err != nil {
			shared.errs[key] = err
			return
		}
		shared.bins[key] = out
	})
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if err := shared.errs[key]; err != nil {
		t.Fatalf("build fixture %s: %v", key, err)
	}
	return shared.bins[key]
}

// standInAgent is a small Go program built for the host, packaged as the
// agent by the tests that do not run the package.
func standInAgent(t testing.TB) string {
	return fixtureBinary(t, "hello", runtime.GOOS, runtime.GOARCH)
}

// helloOptions packages testdata/deploy/hello with the stand-in agent into a
// fresh temporary directory.
func helloOptions(t testing.TB, name string) Options {
	return Options{
		Name:   name,
		Dir:    filepath.Join(fixtures, "hello"),
		Output: filepath.Join(t.TempDir(), name+".tgz"),
		Agent:  standInAgent(t),
	}
}

// tarEntry is one entry of a package as read back by the tests.
type tarEntry struct {
	hdr  *tar.Header
	data []byte
}

// readPackage returns the gzip header and every entry of a package.
func readPackage(t testing.TB, b []byte) (gzip.Header, []tarEntry) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out []tarEntry
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tarEntry{hdr, data})
	}
	return zr.Header, out
}

// writePackage writes entries back as a gzip'd tar, verbatim.
func writePackage(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := *e.hdr
		h.Size = int64(len(e.data))
		if h.Typeflag == tar.TypeSymlink || h.Typeflag == tar.TypeDir {
			h.Size = 0
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write(e.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// synthPackage makes a valid package without running go build: small fake
// binaries and a config file, written by the real writer.
func synthPackage(t testing.TB, name string) []byte {
	t.Helper()
	files := []entry{
		dataEntry(name, []byte("#!agent\n"), modeExec),
		dataEntry("app/"+name, []byte("#!service\n"), modeExec),
		dataEntry("conf/app.yaml", []byte("greeting: hello\n"), modeFile),
	}
	m := &Manifest{
		ManifestVersion: ManifestVersion, Name: name, Main: "app/" + name, Version: "1.0.0",
		GOOS: "linux", GOARCH: "amd64", GoVersion: "go1.26.0", AgentVersion: "1.0.0",
		BuildTime: time.Unix(DefaultEpoch, 0).UTC().Format(time.RFC3339),
		Options:   map[string]string{"instances": "2"}, Files: manifestFiles(files),
	}
	data, err := m.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, dataEntry(ManifestName, data, modeFile))
	var buf bytes.Buffer
	if err := writeTarball(&buf, name, time.Unix(DefaultEpoch, 0), files); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func dataEntry(p string, data []byte, mode os.FileMode) entry {
	return entry{path: p, data: data, mode: mode, size: int64(len(data)), sum: sha256hex(data)}
}

func sha256sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// listDir returns the names in dir, for checking that failures leave
// nothing behind.
func listDir(t testing.TB, dir string) string {
	t.Helper()
	list, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range list {
		names = append(names, d.Name())
	}
	return strings.Join(names, " ")
}

// otherArch is an architecture that is not the host's, for refusal tests.
func otherArch() string {
	if runtime.GOARCH == "arm64" {
		return "amd64"
	}
	return "arm64"
}
