package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/auth"
)

// TestHeadlineCommand is the README's first command, `node-agent
// ./testdata/gateway -i 4`, with no address option: every worker asks the
// agent for the service's address, hears there is none, and asks for the
// gateway's own (-addr; GATEWAY_ADDR here, a free port instead of the
// default 127.0.0.1:8080), which the agent binds once and shares. Four
// workers on one port only all start if the socket is shared.
func TestHeadlineCommand(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	bin := agentBinary(t)
	dataDir := t.TempDir()
	a := startAgent(t, bin, addr, []string{"./testdata/gateway", "-i", "4"},
		"GATEWAY_ADDR="+addr, "SMS_DATA_DIR="+dataDir)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

	// Authentication is on: unsigned, the send is refused; signed with the
	// default application's secret, which the first start wrote to the
	// data directory, it is accepted.
	body := `{"phone":"+8613800000000","template":"verify_code","params":{"code":"1234"}}`
	if code, _ := send(t, c, addr, body); code != http.StatusUnauthorized {
		t.Fatalf("unsigned send: %d, want 401", code)
	}
	secret, err := os.ReadFile(auth.DefaultSecretFile(dataDir))
	if err != nil {
		t.Fatalf("the default application's secret: %v", err)
	}
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/sms/send", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	auth.SignHTTP(req, auth.DefaultAppID, bytes.TrimSpace(secret), []byte(body))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("signed send: %d, want 202", resp.StatusCode)
	}
	pidsAnswering(t, c, addr, 2)
	a.waitOutput(t, `worker 3 \(pid \d+\) ready`, 30*time.Second)

	a.stopWithSIGTERM(t)
	if out := a.output(); strings.Contains(out, "exited unexpectedly") || strings.Contains(out, "could not") {
		t.Fatalf("a worker failed on the way:\n%s", out)
	}
}

// TestHeadlineCommandAddressTaken: the same command while another process
// holds the gateway's address. Every worker fails before it is ready; the
// agent stops at the exception limit (exit 100) and says why in one line
// quoting the workers' error.
func TestHeadlineCommandAddressTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	bin := agentBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "./testdata/gateway", "-i", "4")
	cmd.Env = append(os.Environ(), "GATEWAY_ADDR="+taken.Addr().String(), "SMS_DATA_DIR="+t.TempDir())
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 100 {
		t.Fatalf("agent: %v, want exit 100\n%s", err, out)
	}
	verdict := regexp.MustCompile(`the first start failed: (all 4|\d of 4) workers exited while starting, each with: .*address already in use`)
	if n := len(verdict.FindAll(out, -1)); n != 1 {
		t.Fatalf("%d lines saying why the first start failed, want 1:\n%s", n, out)
	}
}

// stopWithSIGTERM sends SIGTERM to the agent and expects exit 0 within
// 20 s.
func (a *agentProcess) stopWithSIGTERM(t *testing.T) {
	t.Helper()
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-a.exited:
		a.exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("agent exit after SIGTERM: %v, want 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("agent did not exit within 20 s of SIGTERM")
	}
}
