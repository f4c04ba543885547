package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

// runDeployCLI runs `node-agent deploy ARGS…` in-process and returns what it
// printed and the exit code main would use.
func runDeployCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	app := &cli.App{
		Name: "node-agent", Commands: []*cli.Command{deployCommand("9.9.9-test")},
		Writer: &out, ErrWriter: &errb, ExitErrHandler: func(*cli.Context, error) {},
	}
	err := app.Run(append([]string{"node-agent", "deploy"}, args...))
	var ec cli.ExitCoder
	switch {
	case errors.As(err, &ec):
		code = ec.ExitCode()
		fmt.Fprintln(&errb, err)
	case err != nil:
		code = 1
		fmt.Fprintln(&errb, err)
	}
	return out.String(), errb.String(), code
}

// buildBinary builds the Go main package pkg for the host into dir.
func buildBinary(t *testing.T, pkg, out string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

func TestDeployArgs(t *testing.T) {
	cmd := deployCommand("v")
	tests := []struct {
		args       []string
		name, errs string
		help       bool
	}{
		{args: []string{"Svc"}, name: "Svc"},
		{args: []string{"--goos", "linux", "Svc", "-o", "x.tgz", "--json", "--include", "a,b", "--include=c"}, name: "Svc"},
		{args: []string{"-h"}, help: true},
		{args: []string{"Svc", "--help"}, help: true},
		{args: nil, errs: "missing NAME"},
		{args: []string{"A", "B"}, errs: `one NAME expected, got ["A" "B"]`},
		{args: []string{"Svc", "--nope"}, errs: "flag provided but not defined: -nope"},
		{args: []string{"Svc", "-o"}, errs: "flag needs an argument: -o"},
	}
	for _, tt := range tests {
		name, help, err := parseDeployArgs(cmd.Flags, tt.args)
		if name != tt.name || help != tt.help || (err == nil) != (tt.errs == "") || (err != nil && !strings.Contains(err.Error(), tt.errs)) {
			t.Errorf("%q: name %q help %v err %v", tt.args, name, help, err)
		}
	}
}

// TestDeployCommand drives the command as a user would: flags after NAME,
// --json, verify, and the failures with their exit codes.
func TestDeployCommand(t *testing.T) {
	tmp := t.TempDir()
	agent := filepath.Join(tmp, "agent")
	buildBinary(t, "./testdata/deploy/hello", agent)
	out := filepath.Join(tmp, "out")
	os.Mkdir(out, 0o755)

	stdout, stderr, code := runDeployCLI(t, "Hello", "--dir", "testdata/deploy/hello", "-o", out,
		"--agent", agent, "--include", "conf", "--set", "instances=2", "--set", `env={"A":"1","B":"2"}`, "--json")
	if code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr not quiet off a terminal: %q", stderr)
	}
	var res map[string]json.RawMessage
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("--json output %q: %v", stdout, err)
	}
	var keys []string
	for k := range res {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"files", "path", "sha256", "size"}) {
		t.Errorf("--json keys %q", keys)
	}
	var files []map[string]any
	json.Unmarshal(res["files"], &files)
	if len(files) != 4 || files[1]["path"] != "app/Hello" || files[1]["mode"] != "0755" {
		t.Errorf("--json files %v", files)
	}
	tgz := filepath.Join(out, "Hello.tgz")

	stdout, stderr, code = runDeployCLI(t, "verify", tgz)
	if code != 0 || !strings.Contains(stdout, ": ok: Hello ") {
		t.Errorf("verify: exit %d, %q %q", code, stdout, stderr)
	}

	// A flipped byte in the middle of the tarball: verify exits 1.
	b, _ := os.ReadFile(tgz)
	bad := filepath.Join(tmp, "Hello.tgz")
	b[len(b)/2] ^= 0x40
	os.WriteFile(bad, b, 0o644)
	_, stderr, code = runDeployCLI(t, "verify", bad)
	if code != 1 || !strings.Contains(stderr, "invalid package") {
		t.Errorf("verify of a damaged package: exit %d, %q", code, stderr)
	}

	failures := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"bad-name"}, 2, "illegal name"},
		{[]string{}, 2, "missing NAME"},
		{[]string{"Hello", "--dir", "testdata/deploy/notmain", "--agent", agent}, 2, "holds package notmain"},
		{[]string{"Hello", "--dir", "testdata/deploy/broken", "--agent", agent}, 1, "undefined: undefinedFunction"},
		{[]string{"Hello", "--dir", "testdata/deploy/hello", "--agent", agent, "--include", "../tiny"}, 2, `".." element`},
		{[]string{"Hello", "--dir", "testdata/deploy/hello", "--goarch", otherArch()}, 2, "pass --agent PATH"},
		{[]string{"Hello", "--set", "instances"}, 2, "want KEY=VALUE"},
		{[]string{"Hello", "--dir", "testdata/deploy/hello", "--agent", agent, "--set", "instances=lots"}, 2, `--instances: bad value "lots"`},
		{[]string{"verify"}, 2, "one NAME.tgz expected"},
		{[]string{"verify", filepath.Join(tmp, "none.tgz")}, 1, "no such file"},
	}
	for _, f := range failures {
		dir, args := t.TempDir(), f.args
		if !slices.Contains(args, "verify") {
			args = append(args, "-o", dir)
		}
		_, stderr, code := runDeployCLI(t, args...)
		last := strings.TrimSpace(stderr)
		if i := strings.LastIndex(last, "\n"); i >= 0 {
			last = last[i+1:]
		}
		if code != f.code || !strings.Contains(last, f.msg) || !strings.HasPrefix(last, "deploy") {
			t.Errorf("%q: exit %d, last line %q; want exit %d and %q", f.args, code, last, f.code, f.msg)
		}
		if got, _ := os.ReadDir(dir); len(got) != 0 {
			t.Errorf("%q left %d files in the output dir", f.args, len(got))
		}
	}
}

func otherArch() string {
	if runtime.GOARCH == "arm64" {
		return "amd64"
	}
	return "arm64"
}

// TestDeployEndToEnd is the package's whole life with the real agent: build
// node-agent, package testdata/gateway with it invoked as `tars-deploy`
// (a symlink), verify, unpack the way tarsnode does (tar xzf, descend the
// single-directory chain, copy into bin/), start `bin/Gateway --config=conf`
// with a TARS config whose not_tars adapter is the gateway's address, get an
// answer from /healthz, SIGTERM, expect exit 0. Then the same with no
// arguments at all, as on a plain host: the gateway serves on its own
// address (GATEWAY_ADDR), shared by the agent.
func TestDeployEndToEnd(t *testing.T) {
	tmp := t.TempDir()
	agent := agentBinary(t)
	tarsDeploy := filepath.Join(tmp, "tars-deploy")
	if err := os.Symlink(agent, tarsDeploy); err != nil {
		t.Fatal(err)
	}
	gateway, _ := filepath.Abs("testdata/gateway")

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	runOK(t, ctx, tmp, tarsDeploy, "Gateway", "--dir", gateway, "-o", tmp)
	t.Logf("tars-deploy Gateway took %v", time.Since(start).Round(time.Millisecond))
	tgz := filepath.Join(tmp, "Gateway.tgz")
	runOK(t, ctx, tmp, agent, "deploy", "verify", tgz)
	if fi, err := os.Stat(tgz); err == nil {
		t.Logf("Gateway.tgz: %d bytes", fi.Size())
	}

	// Unpack like tarsnode's CommandPatch.
	patch := filepath.Join(tmp, "BatchPatching", "Test.Gateway")
	os.MkdirAll(patch, 0o755)
	runOK(t, ctx, tmp, "tar", "xzf", tgz, "-C", patch)
	top := descendSingleDirs(t, patch)
	bin := filepath.Join(tmp, "data", "Test.Gateway", "bin")
	copyTree(t, top, bin)

	port := freePort(t)
	logDir := filepath.Join(tmp, "log")
	os.MkdirAll(logDir, 0o755)
	conf := filepath.Join(tmp, "Test.Gateway.config.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`<tars>
  <application>
    <client>
      asyncthread=1
    </client>
    <server>
      app=Test
      server=Gateway
      logpath=%s
      deactivating-timeout=3000
      <Test.Gateway.HttpObjAdapter>
        endpoint=tcp -h 127.0.0.1 -p %d -t 60000
        protocol=not_tars
        servant=Test.Gateway.HttpObj
        threads=1
      </Test.Gateway.HttpObjAdapter>
    </server>
  </application>
</tars>
`, logDir, port)), 0o644)

	cmd := exec.Command(filepath.Join(bin, "Gateway"), "--config="+conf)
	cmd.Dir = logDir
	serveUntilSIGTERM(t, cmd, fmt.Sprintf("http://127.0.0.1:%d/healthz", port))

	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd = exec.Command(filepath.Join(bin, "Gateway"))
	cmd.Dir = logDir
	cmd.Env = append(os.Environ(), "GATEWAY_ADDR="+addr, "SMS_DATA_DIR="+t.TempDir())
	serveUntilSIGTERM(t, cmd, "http://"+addr+"/healthz")
}

// serveUntilSIGTERM starts an unpacked service, waits until url answers
// 200, sends SIGTERM and expects exit 0. What it started is killed when it
// returns.
func serveUntilSIGTERM(t *testing.T, cmd *exec.Cmd, url string) {
	t.Helper()
	var output syncBuffer
	cmd.Stdout, cmd.Stderr = &output, &output
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
		}
		if t.Failed() {
			t.Logf("agent output:\n%s", output.String())
		}
	}()

	if err := pollHealthz(url, exited, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		exited <- err // for the deferred cleanup
		if err != nil {
			t.Fatalf("agent exit after SIGTERM: %v (want 0)", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("agent still running 20 s after SIGTERM")
	}
}

// pollHealthz polls url until it answers 200, the agent exits, or the
// deadline passes.
func pollHealthz(url string, exited chan error, within time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d: %s", resp.StatusCode, body)
		}
		last = err
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("agent exited before %s answered: %v", url, err)
		case <-deadline.C:
			return fmt.Errorf("%s did not answer within %v: %v", url, within, last)
		case <-tick.C:
		}
	}
}

func runOK(t *testing.T, ctx context.Context, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %q: %v\n%s", filepath.Base(name), args, err, b)
	}
}

// descendSingleDirs walks down while the directory holds exactly one
// non-hidden entry and it is a directory (tarsnode's rule).
func descendSingleDirs(t *testing.T, dir string) string {
	t.Helper()
	for {
		list, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var visible []os.DirEntry
		for _, d := range list {
			if !strings.HasPrefix(d.Name(), ".") {
				visible = append(visible, d)
			}
		}
		if len(visible) != 1 || !visible[0].IsDir() {
			return dir
		}
		dir = filepath.Join(dir, visible[0].Name())
	}
}

// copyTree copies src into dst keeping file modes, as TC_File::copyFile does.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm())
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
