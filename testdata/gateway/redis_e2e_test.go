package main

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
	"github.com/nodeagent/node-agent/testdata/gateway/sms"
	"github.com/nodeagent/node-agent/testdata/gateway/sms/smstest"
)

// TestRedisTwoHosts simulates two hosts: two agents (2 workers each) on
// two loopback ports sharing one Redis. The per-phone limit holds across
// both; when one whole agent is SIGKILLed with messages in flight, the
// other delivers them.
func TestRedisTwoHosts(t *testing.T) {
	r := smstest.StartRedis(t)
	agent, gw := buildAgent(t), buildGateway(t)
	prov := smstest.NewProvider(time.Second, 0, 1) // slow: the killed host holds messages
	defer prov.Close()
	env := []string{sms.EnvStore + "=" + r.URL(), sms.EnvProviderURL + "=" + prov.URL()}
	args := []string{"-i", "2", "--exception-max", "100"}
	a := startAgentWith(t, agent, gw, args, append(env, sms.EnvDataDir+"="+t.TempDir())...)
	b := startAgentWith(t, agent, gw, args, append(env, sms.EnvDataDir+"="+t.TempDir())...)
	c := &http.Client{Timeout: 5 * time.Second}

	load := newSendLoad(a.addr) // counts every 202, so the provider's SMS can be checked against them
	// One phone, alternating hosts: 3 accepted in all, then 429 on either.
	codes := map[int]int{}
	for i := range 6 {
		host := []*agentProc{a, b}[i%2]
		resp, err := c.Post("http://"+host.addr+"/api/sms/send", "application/json", strings.NewReader(`{"phone":"+4915112345678","content":"hi"}`))
		if err != nil {
			t.Fatal(err)
		}
		var reply sms.SendReply
		jsonDecode(resp, &reply)
		resp.Body.Close()
		codes[resp.StatusCode]++
		if resp.StatusCode == 202 {
			load.record(-1-i, reply.ID, false)
		}
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	if codes[202] != 3 || codes[429] != 3 {
		t.Fatalf("6 sends to one phone over two hosts: %v, want 3 × 202 and 3 × 429", codes)
	}

	// Messages accepted by host a, which dies with them in flight.
	load.phone = func(i int) string { return fmt.Sprintf("+86137%08d", i) }
	load.run(100, 400*time.Millisecond, 0)
	ids := load.acceptedIDs()
	if len(ids) < 23 {
		t.Fatalf("only %d messages accepted", len(ids))
	}
	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.exited
	killed := time.Now()
	recs := waitFinal(context.Background(), c, []string{b.addr}, ids, 30*time.Second)
	verifyDelivery(t, load, ids, recs, prov.Counts(), provider.DefaultMaxAttempts)
	var last time.Time
	for _, m := range recs {
		if m.SentAt != nil && m.SentAt.After(last) {
			last = *m.SentAt
		}
	}
	t.Logf("host a killed with %d accepted messages; host b had sent them all %v later (lease %v, provider latency 1 s)",
		len(ids), last.Sub(killed).Round(time.Millisecond), sms.DefaultLease)
}

// TestRedisDownAtStart: an unreachable Redis is one clear line naming the
// URL and a non-zero exit, standalone and under the agent.
func TestRedisDownAtStart(t *testing.T) {
	gw := buildGateway(t)
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", freePort(t))
	cmd := exec.Command(gw)
	cmd.Env = append(cleanEnv(), "GATEWAY_ADDR=127.0.0.1:0", sms.EnvStore+"="+url, sms.EnvDataDir+"="+t.TempDir())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errorAs(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("exit %v, want non-zero; output:\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], url) || !strings.Contains(lines[0], "connection refused") {
		t.Fatalf("want one line naming %s and the cause, got:\n%s", url, out)
	}
	t.Logf("standalone: %s", lines[0])

	a := launchAgent(t, buildAgent(t), gw, []string{"-i", "1", "--exception-max", "2"}, sms.EnvStore+"="+url)
	select {
	case <-a.exited:
	case <-time.After(60 * time.Second):
		t.Fatal("the agent kept restarting a gateway that cannot reach its store")
	}
	if a.err == nil || !strings.Contains(a.out.String(), url) {
		t.Fatalf("agent exit %v; output does not name %s:\n%s", a.err, url, a.out.String())
	}
}

func errorAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

// TestRedisLostWhileRunning: while Redis is gone, sends are answered 503
// with Retry-After (nothing is accepted that is not stored) and status
// reads 503; when it is back, sends are accepted again and every message
// accepted before and after is delivered.
func TestRedisLostWhileRunning(t *testing.T) {
	r := smstest.StartRedis(t)
	prov := smstest.NewProvider(time.Millisecond, 0, 1)
	defer prov.Close()
	a := startAgentWith(t, buildAgent(t), buildGateway(t), []string{"-i", "2", "--exception-max", "100"},
		sms.EnvStore+"="+r.URL(), sms.EnvProviderURL+"="+prov.URL(), sms.EnvDataDir+"="+t.TempDir())
	c := &http.Client{Timeout: 10 * time.Second}
	n := 0
	send := func() (int, string, string) {
		n++
		resp, err := c.Post("http://"+a.addr+"/api/sms/send", "application/json",
			strings.NewReader(fmt.Sprintf(`{"phone":"+86135%08d","content":"hi"}`, n)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var reply sms.SendReply
		jsonDecode(resp, &reply)
		return resp.StatusCode, resp.Header.Get("Retry-After"), reply.ID
	}
	var ids []string
	for range 10 {
		code, _, id := send()
		if code != 202 {
			t.Fatalf("before the loss: %d", code)
		}
		ids = append(ids, id)
	}

	r.Kill()
	for i := range 10 {
		code, retry, id := send()
		if code != 503 || retry == "" {
			t.Fatalf("send %d with Redis gone: %d Retry-After %q (id %q), want 503 with Retry-After", i, code, retry, id)
		}
	}
	if resp, err := c.Get("http://" + a.addr + "/api/sms/" + ids[0]); err != nil || resp.StatusCode != 503 {
		t.Fatalf("status read with Redis gone: %v %v", resp, err)
	}

	r.Start()
	back := time.Now()
	for {
		code, _, id := send()
		if code == 202 {
			ids = append(ids, id)
			break
		}
		if code != 503 || time.Since(back) > 15*time.Second {
			t.Fatalf("after Redis is back: %d (%v later)", code, time.Since(back))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("accepting again %v after Redis came back", time.Since(back).Round(time.Millisecond))
	recs := waitFinal(context.Background(), c, []string{a.addr}, ids, 20*time.Second)
	for _, id := range ids {
		if m := recs[id]; m.Status != sms.StatusSent || prov.Counts().SMS[id] != 1 {
			t.Fatalf("message %s after recovery: %+v", id, m)
		}
	}
	if !strings.Contains(a.out.String(), "store unavailable") || !strings.Contains(a.out.String(), r.URL()) {
		t.Fatal("the outage was not logged with the store's URL")
	}
}
