package main

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/nodeagent/node-agent/testdata/gateway/sms"
)

// The end-to-end tests build the gateway, run it standalone on a free
// loopback port and talk to it over HTTP, as a user would.

func TestGatewayEndToEnd(t *testing.T) {
	bin := buildGateway(t)

	t.Run("serve and stop", func(t *testing.T) {
		p := start(t, bin)
		var health sms.HealthReply
		resp := call(t, "GET", p.url+"/healthz", "", &health)
		if resp.StatusCode != 200 || health.Status != "ok" || health.PID != p.cmd.Process.Pid ||
			resp.Header.Get(sms.HeaderWorkerPID) != strconv.Itoa(p.cmd.Process.Pid) {
			t.Fatalf("healthz: %d %+v %v", resp.StatusCode, health, resp.Header)
		}

		var e sms.ErrorBody
		if resp := call(t, "POST", p.url+"/api/sms/send", `{"phone":"+49","content":"x"}`, &e); resp.StatusCode != 400 || e.Field != "phone" {
			t.Fatalf("bad phone: %d %+v", resp.StatusCode, e)
		}

		send := `{"phone":"+4915112345678","template":"verify_code","params":{"code":"4711"}}`
		var ids []string
		for i := range 3 {
			var r sms.SendReply
			if resp := call(t, "POST", p.url+"/api/sms/send", send, &r); resp.StatusCode != 202 {
				t.Fatalf("send %d: %d", i+1, resp.StatusCode)
			}
			ids = append(ids, r.ID)
		}
		resp = call(t, "POST", p.url+"/api/sms/send", send, &e)
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("4th send: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}

		for _, id := range ids {
			waitStatus(t, p.url, id, sms.StatusSent)
		}
		if resp := call(t, "GET", p.url+"/api/sms/"+sms.NewID(), "", nil); resp.StatusCode != 404 {
			t.Fatalf("unknown id: %d", resp.StatusCode)
		}
		if resp := call(t, "POST", p.url+"/debug/fault/crash", "", nil); resp.StatusCode != 404 {
			t.Fatalf("fault route without %s: %d", sms.EnvFaults, resp.StatusCode)
		}

		p.cmd.Process.Signal(syscall.SIGTERM)
		if code := p.waitExit(t); code != 0 {
			t.Fatalf("exit code %d after SIGTERM, want 0", code)
		}
		if !strings.Contains(p.output(), "sms gateway stopped") {
			t.Fatal("no stop record in the log")
		}
	})

	t.Run("workers share state", func(t *testing.T) {
		dataDir := sms.EnvDataDir + "=" + t.TempDir()
		a := start(t, bin, dataDir, sms.EnvProviderLatency+"=0s")
		b := start(t, bin, dataDir, sms.EnvProviderLatency+"=0s")
		send := `{"phone":"+4915112345678","content":"hi"}`
		var r sms.SendReply
		for i, p := range []*gatewayProc{a, b, a} {
			if resp := call(t, "POST", p.url+"/api/sms/send", send, &r); resp.StatusCode != 202 {
				t.Fatalf("send %d: %d", i+1, resp.StatusCode)
			}
		}
		if resp := call(t, "POST", b.url+"/api/sms/send", send, nil); resp.StatusCode != 429 {
			t.Fatalf("4th send, to the other process: %d, want 429", resp.StatusCode)
		}
		// The last message was accepted by a; b answers for it.
		waitStatus(t, b.url, r.ID, sms.StatusSent)
	})

	t.Run("fault crash", func(t *testing.T) {
		p := start(t, bin, sms.EnvFaults+"=1")
		if resp := call(t, "POST", p.url+"/debug/fault/crash", "", nil); resp.StatusCode != 200 {
			t.Fatalf("crash: %d", resp.StatusCode)
		}
		if code := p.waitExit(t); code != sms.CrashExitCode {
			t.Fatalf("exit code %d, want %d", code, sms.CrashExitCode)
		}
	})

	t.Run("fault hang", func(t *testing.T) {
		p := start(t, bin, sms.EnvFaults+"=1")
		if resp := call(t, "POST", p.url+"/debug/fault/hang", "", nil); resp.StatusCode != 200 {
			t.Fatalf("hang: %d", resp.StatusCode)
		}
		waitProc(t, "the process to stop", func() bool {
			return procState(p.cmd.Process.Pid) == "T"
		})
	})

	t.Run("fault grow", func(t *testing.T) {
		p := start(t, bin, sms.EnvFaults+"=1")
		before := procStatusKB(t, p.cmd.Process.Pid, "VmRSS")
		var r sms.FaultReply
		if resp := call(t, "POST", p.url+"/debug/fault/grow?mb=64", "", &r); resp.StatusCode != 200 || r.GrownMB != 64 {
			t.Fatalf("grow: %d %+v", resp.StatusCode, r)
		}
		if after := procStatusKB(t, p.cmd.Process.Pid, "VmRSS"); after-before < 60<<10 {
			t.Fatalf("RSS grew from %d to %d kB, want ≥ 60 MiB more", before, after)
		}
	})

	t.Run("fault ignore-shutdown", func(t *testing.T) {
		p := start(t, bin, sms.EnvFaults+"=1")
		if resp := call(t, "POST", p.url+"/debug/fault/ignore-shutdown", "", nil); resp.StatusCode != 200 {
			t.Fatalf("ignore-shutdown: %d", resp.StatusCode)
		}
		const sigtermBit = 1 << (syscall.SIGTERM - 1)
		if mask := procStatusHex(t, p.cmd.Process.Pid, "SigIgn"); mask&sigtermBit == 0 {
			t.Fatalf("SigIgn %x: SIGTERM not ignored", mask)
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		if resp := call(t, "GET", p.url+"/healthz", "", nil); resp.StatusCode != 200 {
			t.Fatalf("healthz after SIGTERM: %d", resp.StatusCode)
		}
		p.cmd.Process.Kill()
		if code := p.waitExit(t); code != -1 {
			t.Fatalf("exit code %d, want killed by SIGKILL (-1)", code)
		}
	})
}

// waitStatus polls GET /api/sms/{id} until the message has status want.
func waitStatus(t *testing.T, url, id string, want sms.Status) {
	t.Helper()
	var m sms.Message
	waitProc(t, fmt.Sprintf("message %s to be %s", id, want), func() bool {
		m = sms.Message{}
		call(t, "GET", url+"/api/sms/"+id, "", &m)
		return m.Status == want
	})
}
