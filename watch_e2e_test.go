package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// watchWorker is the source of a small worker whose answer is its version.
const watchWorker = `package main

import (
	"log"
	"net/http"

	"github.com/nodeagent/node-agent/container"
)

func main() {
	w, err := container.Open()
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	ln, err := w.Listen("tcp", "")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Write([]byte("VERSION"))
	})}
	w.Serve(srv, ln, container.DrainOptions{})
}
`

// TestWatchRebuildsGoSource: with --watch, editing the Go source entry
// rebuilds it and reloads the workers; a change that does not build is
// logged and the workers keep serving.
func TestWatchRebuildsGoSource(t *testing.T) {
	src, write := goSourceEntry(t, strings.Replace(watchWorker, "VERSION", "v1", 1))

	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	a := startAgent(t, agentBinary(t), addr, []string{src, "-i", "2", "--http-address", addr, "--watch"})
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func() string {
		resp, err := c.Get("http://" + addr + "/")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	waitFor := func(want string) {
		t.Helper()
		if !poll(90*time.Second, func() bool { return get() == want }) {
			t.Fatalf("the workers never answered %q (last %q)", want, get())
		}
	}
	waitFor("v1")
	a.waitOutput(t, `watching the Go sources of `, 10*time.Second)

	write("main.go", strings.Replace(watchWorker, "VERSION", "v2", 1))
	a.waitOutput(t, `the sources were rebuilt into .*, reloading the workers`, 90*time.Second)
	a.waitOutput(t, `ok: reloaded 2 workers`, 30*time.Second)
	waitFor("v2")

	write("main.go", strings.Replace(watchWorker, "VERSION", "v3", 1)+"\nfunc broken( {\n")
	a.waitOutput(t, `the sources changed but do not build, the workers keep running`, 90*time.Second)
	if got := get(); got != "v2" {
		t.Fatalf("after a failed build the workers answer %q, want v2", got)
	}
	if n := strings.Count(a.output(), "reloading 2 workers one by one"); n != 1 {
		t.Fatalf("%d reloads, want 1", n)
	}
}

// goSourceEntry writes a Go module in a temp dir whose main package is
// main (using this repository's container package) and returns it with a
// function that rewrites one of its files.
func goSourceEntry(t *testing.T, main string) (src string, write func(name, body string)) {
	t.Helper()
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	src = t.TempDir()
	gomod := fmt.Sprintf("module example.com/watched\n\ngo 1.26\n\nrequire github.com/nodeagent/node-agent v0.0.0\n\nreplace github.com/nodeagent/node-agent => %s\n", root)
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	write = func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", gomod)
	write("go.sum", string(sum))
	write("main.go", main)
	tidy := exec.Command("go", "mod", "tidy")
	tidy.Dir = src
	tidy.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off") // everything is in the module cache
	if out, err := tidy.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}

	return src, write
}

// TestSighupRebuildsGoSource: SIGHUP (and node-agent reload) on a Go
// source entry builds the sources first and reloads the workers onto the
// new build; when they do not build, the workers keep serving.
func TestSighupRebuildsGoSource(t *testing.T) {
	src, write := goSourceEntry(t, strings.Replace(watchWorker, "VERSION", "v1", 1))
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	a := startAgent(t, agentBinary(t), addr, []string{src, "-i", "2", "--http-address", addr})
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func() string {
		resp, err := c.Get("http://" + addr + "/")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := get(); got != "v1" {
		t.Fatalf("first answer %q", got)
	}
	write("main.go", strings.Replace(watchWorker, "VERSION", "v2", 1))
	a.cmd.Process.Signal(syscall.SIGHUP)
	a.waitOutput(t, `received SIGHUP, building `, 10*time.Second)
	a.waitOutput(t, `ok: reloaded 2 workers`, 120*time.Second)
	if got := get(); got != "v2" {
		t.Fatalf("after SIGHUP the workers answer %q, want v2", got)
	}

	// node-agent reload does the same over the control socket, answered.
	write("main.go", strings.Replace(watchWorker, "VERSION", "v3", 1))
	var out, errb bytes.Buffer
	if code := run([]string{"node-agent", "reload"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "ok: reloaded 2 workers") {
		t.Fatalf("node-agent reload: exit %d, %q %q", code, out.String(), errb.String())
	}
	if got := get(); got != "v3" {
		t.Fatalf("after node-agent reload the workers answer %q, want v3", got)
	}

	write("main.go", strings.Replace(watchWorker, "VERSION", "v4", 1)+"\nfunc broken( {\n")
	a.cmd.Process.Signal(syscall.SIGHUP)
	a.waitOutput(t, `reload: the sources do not build, the workers keep running`, 120*time.Second)
	out.Reset()
	errb.Reset()
	if code := run([]string{"node-agent", "reload"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "the sources do not build") {
		t.Fatalf("node-agent reload of a broken build: exit %d, %q", code, errb.String())
	}
	if got := get(); got != "v3" {
		t.Fatalf("after a failed build the workers answer %q, want v3", got)
	}
	if n := strings.Count(a.output(), "reloading 2 workers one by one"); n != 2 {
		t.Fatalf("%d reloads, want 2", n)
	}
}
