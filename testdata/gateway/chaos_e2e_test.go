package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/auth"
	"github.com/nodeagent/node-agent/testdata/gateway/provider"
	"github.com/nodeagent/node-agent/testdata/gateway/sms"
	"github.com/nodeagent/node-agent/testdata/gateway/sms/smstest"
)

// The chaos acceptance of the durable gateway (issue 13): 4 workers under
// the built agent take a paced load of sends while the test SIGKILLs a
// random worker every 2 s, SIGSTOPs one (the agent kills it for missing
// heartbeats), makes one outgrow --max-memory-restart and reloads the
// gateway twice (SIGHUP); the provider fails 10 % of calls. Then every
// message answered 202 must be sent exactly once at the provider, or failed
// after its attempts; none may be missing or stuck.

// chaosDuration is the load's length: ≥ 30 s, shorter under -short.
func chaosDuration() time.Duration {
	if testing.Short() {
		return 8 * time.Second
	}
	return 30 * time.Second
}

// settleBound is how long after the load everything must be final: the
// lease (1.5 s) for the last lost worker's messages, a poll, their backoff
// (0.7 s at most), with room for a slow shared machine.
const settleBound = 15 * time.Second

func TestChaosEmbedded(t *testing.T) {
	runChaos(t) // the embedded store in the data directory
}

func TestChaosRedis(t *testing.T) {
	r := smstest.StartRedis(t)
	runChaos(t, sms.EnvStore+"="+r.URL())
}

// runChaos runs the chaos acceptance on the store of storeEnv, with
// authentication on: every request is signed as the default application
// (each retry with a fresh nonce), so the test also shows that
// authenticated sends lose nothing.
func runChaos(t *testing.T, storeEnv ...string) {
	agent, gw := buildAgent(t), buildGateway(t)
	prov := smstest.NewProvider(50*time.Millisecond, 0.10, 13) // 50 ms: a killed worker holds some messages
	defer prov.Close()
	dataDir := t.TempDir()
	a := startAgentWith(t, agent, gw,
		[]string{"-i", "4", "--keepalive-time", "2", "--exception-max", "1000", "--max-memory-restart", "150M",
			"--graceful-shutdown", "8000", "--env", `{"GATEWAY_FAULTS":"1"}`},
		append(storeEnv, EnvAuth+"=on", sms.EnvDataDir+"="+dataDir, sms.EnvProviderURL+"="+prov.URL(),
			// A fast policy of the test's own: waits of 100, 200, 400 ms (less jitter).
			sms.EnvBackoffFirst+"=100ms", sms.EnvBackoffMax+"=400ms")...)
	secret := defaultAppSecret(t, dataDir)

	load := newSendLoad(a.addr)
	load.sign = func(r *http.Request, body []byte) { auth.SignHTTP(r, auth.DefaultAppID, secret, body) }
	ctx, stopChaos := context.WithCancel(context.Background())
	chaosDone := make(chan chaosLog)
	d := chaosDuration()
	go func() { chaosDone <- chaos(ctx, t, a, d) }()
	load.run(100, d, 0.10)
	stopChaos()
	log := <-chaosDone

	// Reads are signed by the transport: one it resends by itself is
	// refused (used nonce) and simply read again on the next poll.
	c := &http.Client{Timeout: 5 * time.Second, Transport: signingTransport{http.DefaultTransport, auth.DefaultAppID, secret}}
	ids := load.acceptedIDs()
	recs := waitFinal(context.Background(), c, []string{a.addr}, ids, settleBound)
	verifyDelivery(t, load, ids, recs, prov.Counts(), provider.DefaultMaxAttempts)
	takeovers := strings.Count(a.out.String(), "sms taken over from a lost worker")
	t.Logf("%v of load: %d messages accepted (%d repeats of a key answered with the first id), %d transport errors and %d 503s retried; chaos: %s; %d takeovers logged",
		d, len(ids), load.repeats, load.transport, load.unavailable, log, takeovers)
}

// chaosLog counts what chaos did.
type chaosLog struct{ killed, stopped, grown, reloads int }

func (c chaosLog) String() string {
	return fmt.Sprintf("%d SIGKILLs, %d SIGSTOP, %d memory restart, %d rolling reloads", c.killed, c.stopped, c.grown, c.reloads)
}

// chaos disturbs the agent's workers until ctx ends: a SIGKILL every 2 s;
// at 20 % of d a SIGSTOP; at 35 % and 70 % a reload; at 50 % a memory grow.
func chaos(ctx context.Context, t *testing.T, a *agentProc, d time.Duration) chaosLog {
	var log chaosLog
	start := time.Now()
	kill := time.NewTicker(2 * time.Second)
	defer kill.Stop()
	events := []struct {
		at float64
		do func()
	}{
		{0.20, func() {
			if pids := a.workers(); len(pids) > 0 {
				syscall.Kill(pids[rand.IntN(len(pids))], syscall.SIGSTOP)
				log.stopped++
			}
		}},
		{0.35, func() { a.cmd.Process.Signal(syscall.SIGHUP); log.reloads++ }},
		{0.50, func() {
			c := &http.Client{Timeout: 5 * time.Second}
			if resp, err := c.Post("http://"+a.addr+"/debug/fault/grow?mb=200", "application/json", nil); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					log.grown++
				}
			}
		}},
		{0.70, func() { a.cmd.Process.Signal(syscall.SIGHUP); log.reloads++ }},
	}
	for {
		select {
		case <-ctx.Done():
			return log
		case <-kill.C:
			pids := a.workers()
			// Leave stopped workers to the keepalive kill.
			pids = slices.DeleteFunc(pids, func(p int) bool { return procState(p) == "T" })
			if len(pids) > 0 {
				syscall.Kill(pids[rand.IntN(len(pids))], syscall.SIGKILL)
				log.killed++
			}
		case <-time.After(100 * time.Millisecond):
		}
		for len(events) > 0 && time.Since(start) >= time.Duration(events[0].at*float64(d)) {
			events[0].do()
			events = events[1:]
		}
	}
}

// verifyDelivery checks the outcome of a load: every 202 id final, sent
// exactly once at the provider or failed after its attempts, no SMS for an
// id never answered 202, and no failure the client could not retry.
func verifyDelivery(t *testing.T, load *sendLoad, ids []string, recs map[string]sms.Message, prov smstest.Counts, maxAttempts int) {
	t.Helper()
	if len(load.unexpected) > 0 {
		t.Errorf("%d unexpected answers (neither 202 nor a retryable 503), first: %s", len(load.unexpected), load.unexpected[0])
	}
	if len(load.lost) > 0 {
		t.Errorf("%d messages never got a 202 within 60 s of retries", len(load.lost))
	}
	if load.limited > 0 {
		t.Errorf("%d sends to distinct phones answered 429", load.limited)
	}
	if len(ids) == 0 {
		t.Fatal("nothing was accepted")
	}
	var missing, stuck, sent, failed, dupSMS, noSMS []string
	for _, id := range ids {
		m, ok := recs[id]
		switch {
		case !ok:
			missing = append(missing, id)
		case !m.Status.Final():
			stuck = append(stuck, fmt.Sprintf("%s %s (attempts %d)", id, m.Status, m.Attempts))
		case m.Status == sms.StatusSent:
			sent = append(sent, id)
			if prov.SMS[id] != 1 {
				noSMS = append(noSMS, id)
			}
		default:
			failed = append(failed, fmt.Sprintf("%s after %d attempts: %s", id, m.Attempts, m.LastError))
			if m.Attempts < maxAttempts {
				t.Errorf("message %s failed after only %d attempts: %s", id, m.Attempts, m.LastError)
			}
		}
		if prov.SMS[id] > 1 {
			dupSMS = append(dupSMS, id)
		}
	}
	accepted := map[string]bool{}
	for _, id := range ids {
		accepted[id] = true
	}
	var unknown []string
	for id := range prov.SMS {
		if !accepted[id] {
			unknown = append(unknown, id)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d accepted messages missing (no record), first %s", len(missing), missing[0])
	}
	if len(stuck) > 0 {
		t.Errorf("%d messages not final %v after the load, first %s", len(stuck), settleBound, stuck[0])
	}
	if len(noSMS) > 0 {
		t.Errorf("%d messages recorded sent that the provider never sent, first %s", len(noSMS), noSMS[0])
	}
	if len(dupSMS) > 0 {
		t.Errorf("%d messages sent twice by the provider", len(dupSMS))
	}
	if len(unknown) > 0 {
		t.Errorf("%d SMS sent for ids never answered 202", len(unknown))
	}
	for _, f := range failed {
		t.Logf("failed (counted, explained): %s", f)
	}
	calls := 0
	for _, n := range prov.Calls {
		calls += n
	}
	t.Logf("%d accepted: %d sent once each, %d failed after their attempts; provider: %d calls, %d failed on purpose, %d repeats of an id already sent (acknowledged, no second SMS)",
		len(ids), len(sent), len(failed), calls, prov.Failed, prov.Repeated)
}
