package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestBadInputExits2 runs the command in-process: every bad input is one
// line on stderr and exit code 2, before anything starts.
func TestBadInputExits2(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag after entry", []string{"/bin/true", "--bogus"}, "bogus"},
		{"missing entry", []string{"./no-such-entry", "-i", "2"}, "no-such-entry"},
		{"bad instances", []string{"/bin/true", "-i", "zero"}, "instances"},
		{"bad env", []string{"/bin/true", "--env", "{"}, "env"},
		{"address in use", []string{"/bin/true", "--http-address", busy.Addr().String()}, "cannot be bound"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(append([]string{"node-agent"}, c.args...), &out, &errb)
			if code != 2 {
				t.Fatalf("exit code %d, want 2; stderr %q", code, errb.String())
			}
			msg := errb.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "node-agent: ") || !strings.Contains(msg, c.want) {
				t.Fatalf("stderr %q: want one line naming %q", msg, c.want)
			}
		})
	}
}

func TestNoArgumentsPrintHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"node-agent"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "USAGE") {
		t.Fatalf("no help: %q", out.String())
	}
}

// agentProcess is the built node-agent running the gateway.
type agentProcess struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan error
}

// syncBuffer is a bytes.Buffer the test reads while the agent writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// output is what the agent printed so far.
func (a *agentProcess) output() string { return a.out.String() }

// startGateway runs the gateway under the agent with authentication off
// (SMS_AUTH=off, on loopback): these tests are about the agent; the
// headline test signs its requests.
func startGateway(t *testing.T, addr string, args ...string) *agentProcess {
	t.Helper()
	return startAgent(t, agentBinary(t), addr, append([]string{"./testdata/gateway"}, args...), "SMS_DATA_DIR="+t.TempDir(), "SMS_AUTH=off")
}

// startAgent runs the agent binary bin with args and extra environment,
// and waits until addr answers /healthz. It is killed when t ends.
func startAgent(t *testing.T, bin, addr string, args []string, env ...string) *agentProcess {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &agentProcess{cmd: cmd, out: out, exited: make(chan error, 1)}
	go func() { a.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-a.exited
		if t.Failed() {
			t.Logf("agent output:\n%s", out.String())
		}
	})
	if err := pollHealthz("http://"+addr+"/healthz", a.exited, 90*time.Second); err != nil {
		t.Fatal(err)
	}
	return a
}

func send(t *testing.T, c *http.Client, addr, body string) (int, string) {
	t.Helper()
	resp, err := c.Post("http://"+addr+"/api/sms/send", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Worker-Pid")
}

// TestGatewayUnderAgent is the main job: the gateway from source under the
// built agent with 4 workers, options after ENTRY.
func TestGatewayUnderAgent(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	a := startGateway(t, addr, "-i", "4", "--http-address", addr, "--graceful-shutdown", "5000")
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

	// Packing (--steering=pack, the default) keeps a light load on at
	// least 2 workers (one per usable CPU): several answer, not all 4.
	pids := map[string]bool{}
	for i := 0; i < 100 && len(pids) < 2; i++ {
		resp, err := c.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		pids[resp.Header.Get("X-Worker-Pid")] = true
	}
	if len(pids) < 2 {
		t.Fatalf("100 requests answered by %d workers, want several: %v", len(pids), pids)
	}

	if code, _ := send(t, c, addr, `{"phone":"12","content":"hi"}`); code != http.StatusBadRequest {
		t.Fatalf("bad phone: %d, want 400", code)
	}
	// The rate limit holds across workers: 3 per minute per phone.
	msg := `{"phone":"+8613800000001","template":"verify_code","params":{"code":"1234"}}`
	answered := map[string]bool{}
	for i := 0; i < 3; i++ {
		code, pid := send(t, c, addr, msg)
		if code != http.StatusAccepted {
			t.Fatalf("message %d: %d, want 202", i+1, code)
		}
		answered[pid] = true
	}
	if code, _ := send(t, c, addr, msg); code != http.StatusTooManyRequests {
		t.Fatalf("4th message in a minute: %d, want 429", code)
	}

	a.stopWithSIGTERM(t)
	for p := range pids {
		pid, _ := strconv.Atoi(p)
		if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
			t.Errorf("worker %d still exists after the agent exited", pid)
		}
	}
	if !strings.Contains(a.out.String(), "all workers stopped, exiting with code 0") {
		t.Fatalf("no clean exit in the agent log")
	}
}

// poll checks cond every 20 ms until it holds or within has passed, and
// reports whether it held: for state no test can be signalled about (what
// the agent's processes serve and count).
func poll(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return cond()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
