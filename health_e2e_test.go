package main

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pidsAnswering asks /healthz until n distinct worker pids answered.
func pidsAnswering(t *testing.T, c *http.Client, addr string, n int) map[string]bool {
	t.Helper()
	pids := map[string]bool{}
	for i := 0; i < 200 && len(pids) < n; i++ {
		resp, err := c.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		pids[resp.Header.Get("X-Worker-Pid")] = true
	}
	if len(pids) < n {
		t.Fatalf("200 requests answered by %d workers, want %d", len(pids), n)
	}
	return pids
}

// fault posts a gateway fault switch and returns the pid that took it.
func fault(t *testing.T, c *http.Client, addr, name string) string {
	t.Helper()
	resp, err := c.Post("http://"+addr+"/debug/fault/"+name, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("fault %s: %d", name, resp.StatusCode)
	}
	return resp.Header.Get("X-Worker-Pid")
}

// waitOutput polls the agent's output for a line matching pattern.
func (a *agentProcess) waitOutput(t *testing.T, pattern string, within time.Duration) []string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(a.output()); m != nil {
			return m
		}
		select {
		case err := <-a.exited:
			a.exited <- err
			t.Fatalf("agent exited (%v) before a line matching %q", err, pattern)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no line matching %q within %v", pattern, within)
	return nil
}

// TestGatewayHangIsReplaced: a gateway worker stopped by its hang switch
// sends no heartbeat; at --keepalive-time 2 the agent kills and replaces
// it within keepalive + keepalive/5.
func TestGatewayHangIsReplaced(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	a := startGateway(t, addr, "-i", "2", "--http-address", addr, "--keepalive-time", "2", "--env", `{"GATEWAY_FAULTS":"1"}`)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	before := pidsAnswering(t, c, addr, 2)
	hung := fault(t, c, addr, "hang")
	m := a.waitOutput(t, `worker \d \(pid `+hung+`\) sent no heartbeat for ([\d.]+m?s) \(keepalive 2s\)`, 10*time.Second)
	silent, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("hung worker killed after %v of silence", silent)
	a.waitOutput(t, `worker \d \(pid `+hung+`\) killed for missing heartbeats`, 5*time.Second)
	// The pid of the worker started after the kill.
	next := a.waitOutput(t, `killed for missing heartbeats(?s:.*)worker \d started, pid (\d+)`, 10*time.Second)[1]
	a.waitOutput(t, `worker \d \(pid `+next+`\) ready after`, 10*time.Second)
	if before[next] {
		t.Fatalf("no new worker: %s", next)
	}
	pid, _ := strconv.Atoi(hung)
	if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
		t.Fatalf("hung worker %d still exists", pid)
	}
	pidsAnswering(t, c, addr, 2)
}

// TestGatewayMemoryLimit: a gateway worker that grows past
// --max-memory-restart 64M is replaced, and the agent logs its RSS.
func TestGatewayMemoryLimit(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	a := startGateway(t, addr, "-i", "2", "--http-address", addr, "--max-memory-restart", "64M", "--env", `{"GATEWAY_FAULTS":"1"}`)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	pidsAnswering(t, c, addr, 2)
	grown := fault(t, c, addr, "grow?mb=100")
	m := a.waitOutput(t, `worker \d \(pid `+grown+`\) uses ([\d.]+) MiB of memory \(RSS\), over the limit of 64.0 MiB`, 10*time.Second)
	if rss, _ := strconv.ParseFloat(m[1], 64); rss <= 64 {
		t.Fatalf("logged RSS %s MiB", m[1])
	}
	next := a.waitOutput(t, `worker \d \(pid `+grown+`\) replaced by pid (\d+) \(memory\)`, 10*time.Second)[1]
	a.waitOutput(t, `worker \d \(pid `+grown+`\) stopped \(memory\)`, 10*time.Second)
	if !pidsAnswering(t, c, addr, 2)[next] {
		t.Fatalf("the replacement %s does not answer", next)
	}
	if strings.Contains(a.output(), "exiting with code 100") {
		t.Fatal("one memory restart reached the exception limit")
	}
	if env := os.Getenv("GOMEMLIMIT"); env != "" {
		t.Logf("note: GOMEMLIMIT=%s is set in the test environment and reaches the workers", env)
	}
}
