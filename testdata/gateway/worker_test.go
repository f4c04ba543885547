package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/container/containertest"
	"github.com/nodeagent/node-agent/testdata/gateway/sms"
)

// TestServeUnderAgent runs the gateway's wiring against containertest's
// fake agent: the socket comes from the agent, the worker id reaches the
// replies, sms.stats answers, and the agent's stop request ends serve with 0.
func TestServeUnderAgent(t *testing.T) {
	a := containertest.New(t, containertest.Options{WorkerID: 2})
	cfg := sms.Config{DataDir: t.TempDir(), ProviderLatency: -1}
	code := make(chan int, 1)
	go func() { code <- serve(a.Worker(), cfg, "127.0.0.1:1", sms.Hooks{}, "") }()
	a.WaitReady()

	listening := regexp.MustCompile(`sms gateway listening.*addr=(127\.0\.0\.1:\d+)`)
	var url string
	waitProc(t, "the listening record", func() bool {
		for _, l := range a.Logs() {
			if m := listening.FindStringSubmatch(l.Message); m != nil {
				url = "http://" + m[1]
				return true
			}
		}
		return false
	})

	var h sms.HealthReply
	if resp := call(t, "GET", url+"/healthz", "", &h); resp.StatusCode != 200 || h.Worker != 2 || resp.Header.Get(sms.HeaderWorkerID) != "2" {
		t.Fatalf("healthz: %d %+v", resp.StatusCode, h)
	}
	var r sms.SendReply
	if resp := call(t, "POST", url+"/api/sms/send", `{"phone":"+4915112345678","content":"hi"}`, &r); resp.StatusCode != 202 {
		t.Fatalf("send: %d", resp.StatusCode)
	}
	waitStatus(t, url, r.ID, sms.StatusSent)

	// The sender counts a sent message once its outcome's commit returned;
	// a reader may see the status a moment before that.
	var st sms.Stats
	waitProc(t, "sms.stats to count the message sent", func() bool {
		st = sms.Stats{}
		return json.Unmarshal([]byte(a.Command("sms.stats", "")), &st) == nil && st.Sent == 1
	})
	if st.Worker != 2 {
		t.Fatalf("sms.stats: %+v", st)
	}

	a.Stop()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("serve = %d after the agent's stop, want 0", c)
		}
	case <-time.After(e2eTimeout):
		t.Fatal("serve did not return after the agent's stop")
	}
}

func TestRunRefusesBadInputBeforeStarting(t *testing.T) {
	var stderr strings.Builder
	if code := run([]string{"-no-such-flag"}, &stderr); code != 2 {
		t.Fatalf("unknown flag: exit %d, want 2", code)
	}
	t.Setenv(sms.EnvProviderFailureRate, "5")
	stderr.Reset()
	if code := run(nil, &stderr); code != 2 || !strings.Contains(stderr.String(), sms.EnvProviderFailureRate) {
		t.Fatalf("bad env: exit %d, stderr %q", code, stderr.String())
	}
}
