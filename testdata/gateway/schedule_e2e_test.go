package main

import (
	"net/http"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/sms"
	"github.com/nodeagent/node-agent/testdata/gateway/sms/smstest"
)

// The scheduled sends of issue 19 under the built agent, on both stores: a
// message scheduled a few seconds ahead is kept in the store while every
// worker that could have held it in memory is SIGKILLed (the agent starts
// replacements); it reaches the provider once, at its send_at and at most
// 1 s after. A second one, cancelled before its time, never reaches the
// provider; cancelling the first once it is sent answers 409.

func TestScheduledSendEmbedded(t *testing.T) {
	runScheduled(t, sms.EnvDataDir+"="+t.TempDir())
}

func TestScheduledSendRedis(t *testing.T) {
	runScheduled(t, sms.EnvStore+"="+smstest.StartRedis(t).URL())
}

// scheduleAhead leaves time to kill the workers and see their replacements
// answer before the message is due.
const scheduleAhead = 5 * time.Second

func runScheduled(t *testing.T, storeEnv string) {
	prov := smstest.NewProvider(5*time.Millisecond, 0, 1)
	defer prov.Close()
	gw := buildGateway(t)
	a := startAgentWith(t, buildAgent(t), gw, []string{"-i", "2", "--exception-max", "100"},
		storeEnv, sms.EnvProviderURL+"="+prov.URL())
	api := "http://" + a.addr + "/api/sms/"

	at := time.Now().Add(scheduleAhead).UTC().Truncate(time.Millisecond)
	body := func(phone string) string {
		return `{"phone":"` + phone + `","content":"see you at noon","send_at":"` + at.Format(time.RFC3339Nano) + `"}`
	}
	var kept, dropped sms.SendReply
	resp := call(t, "POST", api+"send", body("+4915100000001"), &kept)
	acceptedBy, _ := strconv.Atoi(resp.Header.Get(sms.HeaderWorkerPID))
	if resp.StatusCode != http.StatusAccepted || kept.SendAt == nil || !kept.SendAt.Equal(at) {
		t.Fatalf("scheduled send: %d %+v", resp.StatusCode, kept)
	}
	if resp := call(t, "POST", api+"send", body("+4915100000002"), &dropped); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("second scheduled send: %d", resp.StatusCode)
	}
	var m sms.Message
	if resp := call(t, "DELETE", api+dropped.ID, "", &m); resp.StatusCode != http.StatusOK || m.Status != sms.StatusCancelled {
		t.Fatalf("cancel before its time: %d %+v", resp.StatusCode, m)
	}

	// Every worker dies, the one that accepted the message included; the
	// agent starts new ones.
	old := gatewayWorkers(a, gw)
	if !slices.Contains(old, acceptedBy) {
		t.Fatalf("worker %d that accepted the message is not among the agent's %v", acceptedBy, old)
	}
	for _, pid := range old {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	waitProc(t, "two new workers", func() bool {
		now := gatewayWorkers(a, gw)
		return len(now) == 2 && !slices.Contains(now, old[0]) && !slices.Contains(now, old[len(old)-1])
	})
	waitProc(t, "the new workers answering", func() bool {
		c := &http.Client{Timeout: time.Second}
		resp, err := c.Get("http://" + a.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	if time.Now().After(at) {
		t.Fatalf("the workers took until %v after send_at to come back; the test proves nothing", time.Since(at))
	}
	if n := prov.Counts().Calls[kept.ID]; n != 0 {
		t.Fatalf("sent before its time (%d calls, %v early)", n, time.Until(at))
	}

	waitProc(t, "the scheduled message at the provider", func() bool { return prov.Counts().SMS[kept.ID] == 1 })
	counts := prov.Counts()
	late := counts.SentAt[kept.ID].Sub(at)
	if late < 0 || late > time.Second {
		t.Fatalf("sent %v after its send_at, want within [0, 1 s]", late)
	}
	t.Logf("workers %v SIGKILLed %v before send_at; sent by a replacement %v after it", old, scheduleAhead, late.Round(time.Millisecond))

	waitStatus(t, "http://"+a.addr, kept.ID, sms.StatusSent)
	var e sms.ErrorBody
	if resp := call(t, "DELETE", api+kept.ID, "", &e); resp.StatusCode != http.StatusConflict || e.Field != "id" {
		t.Fatalf("cancel after sending: %d %+v", resp.StatusCode, e)
	}
	if resp := call(t, "DELETE", api+sms.NewID(), "", &e); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("cancel of an unknown id: %d", resp.StatusCode)
	}
	if resp := call(t, "GET", api+dropped.ID, "", &m); resp.StatusCode != 200 || m.Status != sms.StatusCancelled || m.Attempts != 0 {
		t.Fatalf("the cancelled message after its time: %+v", m)
	}
	if n := counts.Calls[dropped.ID]; n != 0 {
		t.Fatalf("the cancelled message reached the provider (%d calls)", n)
	}
	if counts.Calls[kept.ID] != 1 || counts.Repeated != 0 {
		t.Fatalf("provider calls %v, %d repeats; want one call", counts.Calls, counts.Repeated)
	}
}

// gatewayWorkers are the agent's children running the gateway binary gw
// (not its guardian, a copy of the agent).
func gatewayWorkers(a *agentProc, gw string) []int {
	return slices.DeleteFunc(a.workers(), func(pid int) bool {
		exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
		return err != nil || exe != gw
	})
}
