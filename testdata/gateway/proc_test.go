package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/internal/testtool"
	"github.com/nodeagent/node-agent/testdata/gateway/sms"
)

// Helpers of the end-to-end tests: build the gateway, run it as a process,
// talk to it, look at it through /proc.

// e2eTimeout bounds every wait on the gateway process.
const e2eTimeout = 20 * time.Second

// buildGateway compiles this package into a temporary directory.
func buildGateway(t *testing.T) string {
	t.Helper()
	goTool := testtool.Require(t, "go", "https://go.dev/dl")
	bin := filepath.Join(t.TempDir(), "gateway")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// gatewayProc is a running gateway.
type gatewayProc struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{}
	err    error // cmd.Wait's result, once exited is closed

	mu  sync.Mutex
	log strings.Builder
}

var addrRE = regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`)

// start runs bin on 127.0.0.1:0 with a fresh data dir and extra env, and
// waits for its "listening" line. Authentication is off (SMS_AUTH=off, on
// loopback) unless env turns it on: most tests are about something else;
// auth_e2e_test.go signs its requests. The process is killed when the test ends.
func start(t *testing.T, bin string, env ...string) *gatewayProc {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(cleanEnv(),
		"GATEWAY_ADDR=127.0.0.1:0",
		sms.EnvDataDir+"="+t.TempDir(),
		sms.EnvProviderLatency+"=5ms",
		sms.EnvProviderSeed+"=1",
		EnvAuth+"=off")
	cmd.Env = append(cmd.Env, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &gatewayProc{cmd: cmd, exited: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if m := addrRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT) // in case a test stopped it
		cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("gateway output:\n%s", p.output())
		}
	})
	select {
	case a := <-addr:
		p.url = "http://" + a
	case <-p.exited:
		t.Fatalf("gateway exited before listening: %v", p.err)
	case <-time.After(e2eTimeout):
		t.Fatal("gateway did not report its address")
	}
	return p
}

// cleanEnv is this process's environment without anything that would make
// the gateway think it runs under an agent or change its configuration.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "PORT", k == "IP", k == "HTTP_PORT", k == "HTTP_IP", k == "WORKER_ID",
			strings.HasPrefix(k, "NODE_AGENT_"), strings.HasPrefix(k, "SMS_"), strings.HasPrefix(k, "GATEWAY_"):
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (p *gatewayProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// waitExit returns the exit code, failing the test after e2eTimeout.
func (p *gatewayProc) waitExit(t *testing.T) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(e2eTimeout):
		t.Fatal("gateway did not exit")
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("wait: %v", p.err)
	}
	return 0
}

// call makes one request and decodes the JSON reply into out (may be nil).
func call(t *testing.T, method, url, body string, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: e2eTimeout}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %q: %v", method, url, resp.StatusCode, data, err)
		}
	}
	return resp
}

// waitProc polls cond until it holds or e2eTimeout passes.
func waitProc(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(e2eTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// procState is the state letter of /proc/PID/stat ("T" when stopped).
func procState(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	_, rest, _ := strings.Cut(string(data), ") ")
	state, _, _ := strings.Cut(rest, " ")
	return state
}

func procStatusField(t *testing.T, pid int, key string) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skip("no /proc:", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, key)
	return ""
}

func procStatusKB(t *testing.T, pid int, key string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(strings.TrimSuffix(procStatusField(t, pid, key), " kB"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func procStatusHex(t *testing.T, pid int, key string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(procStatusField(t, pid, key), 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
