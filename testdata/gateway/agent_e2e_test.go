package main

import (
	"bytes"
	"fmt"
	"net"
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
)

// Helpers of the tests that run the gateway under the built node-agent.

// buildAgent compiles node-agent (the module root) into a temporary directory.
func buildAgent(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "node-agent")
	out, err := exec.Command("go", "build", "-o", bin, "../..").CombinedOutput()
	if err != nil {
		t.Fatalf("go build node-agent: %v\n%s", err, out)
	}
	return bin
}

// agentProc is a running node-agent.
type agentProc struct {
	cmd    *exec.Cmd
	addr   string
	out    *lockedBuffer
	exited chan struct{}
	err    error
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startAgentWith runs agent with the gateway binary gw as its entry on a free
// loopback port, args after the entry, env added to the gateway's
// environment, and waits until /healthz answers. It is killed when t ends.
func startAgentWith(t *testing.T, agent, gw string, args []string, env ...string) *agentProc {
	t.Helper()
	a := launchAgent(t, agent, gw, args, env...)
	deadline := time.Now().Add(60 * time.Second)
	c := &http.Client{Timeout: time.Second}
	for {
		resp, err := c.Get("http://" + a.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return a
			}
		}
		select {
		case <-a.exited:
			t.Fatalf("agent exited (%v) before the gateway answered:\n%s", a.err, a.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway under the agent did not answer /healthz in 60 s:\n%s", a.out.String())
		}
	}
}

// launchAgent starts the agent without waiting for the gateway.
func launchAgent(t *testing.T, agent, gw string, args []string, env ...string) *agentProc {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	argv := append([]string{gw, "--http-address", addr, "--applog-level", "INFO"}, args...)
	cmd := exec.Command(agent, argv...)
	// Each agent gets a control socket directory of its own: agents of one
	// name on one host refuse to run side by side, and these stand for
	// agents on different hosts (and beside other packages' tests).
	// Authentication is off unless env turns it on (SMS_AUTH=on).
	cmd.Env = append(append(cleanEnv(), "XDG_RUNTIME_DIR="+t.TempDir(), EnvAuth+"=off"), env...)
	a := &agentProc{cmd: cmd, addr: addr, out: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = a.out, a.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.err = cmd.Wait(); close(a.exited) }()
	t.Cleanup(func() {
		for _, pid := range a.workers() {
			syscall.Kill(pid, syscall.SIGCONT)
		}
		cmd.Process.Kill()
		<-a.exited
		if t.Failed() {
			out := a.out.String()
			if len(out) > 20000 {
				out = "…" + out[len(out)-20000:]
			}
			t.Logf("agent output (tail):\n%s", out)
		}
	})
	return a
}

// workers are the agent's workers: its child processes but the guardian,
// from /proc.
func (a *agentProc) workers() []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		_, rest, _ := strings.Cut(string(data), ") ")
		f := strings.Fields(rest)
		if len(f) > 1 && f[1] == strconv.Itoa(a.cmd.Process.Pid) && f[0] != "Z" && !a.isGuardian(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// isGuardian reports whether the agent's child pid is its guardian: a copy
// of the agent's own program, not a worker (a chaos test must not kill it).
func (a *agentProc) isGuardian(pid int) bool {
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		return false
	}
	agent, err := os.Readlink("/proc/" + strconv.Itoa(a.cmd.Process.Pid) + "/exe")
	return err == nil && exe == agent
}

// waitLine waits until the agent's output matches pattern, and returns the match.
func (a *agentProc) waitLine(t *testing.T, pattern string, within time.Duration) []string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	deadline := time.Now().Add(within)
	for {
		if m := re.FindStringSubmatch(a.out.String()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no agent output matching %q within %v", pattern, within)
		}
		select {
		case <-a.exited:
			if m := re.FindStringSubmatch(a.out.String()); m != nil {
				return m
			}
			t.Fatalf("agent exited (%v) before output matching %q", a.err, pattern)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
