package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
	"github.com/nodeagent/node-agent/testdata/gateway/provider/providertest"
	"github.com/nodeagent/node-agent/testdata/gateway/sms"
)

// TestChaosWithProviderFakes is the chaos acceptance (embedded store) with
// the Aliyun fake as primary and the Tencent fake as secondary, both
// verifying every call's signature, failing 10 % of calls, and pushing
// receipts. The primary is also down for a fifth of the run. Every message
// answered 202 must end sent at a provider (then delivered by its receipt)
// or failed after its attempts; none missing, none stuck. Real providers do
// not deduplicate by out id, so a worker killed between the provider's
// acceptance and the store's update leads to a second send: such
// duplicates are counted and bounded by the workers lost, times the calls
// each can have under way.
func TestChaosWithProviderFakes(t *testing.T) {
	agent, gw := buildAgent(t), buildGateway(t)
	fa := providertest.NewAliyun(t, providertest.AliyunOptions{Keys: map[string]string{e2eAliyunID: e2eAliyunSecret}})
	fb := providertest.NewTencent(t, providertest.TencentOptions{Keys: map[string]string{e2eTencentID: e2eTencentSecret}, SDKAppID: e2eAppID})
	fa.SetFailureRate(0.10, 13)
	fb.SetFailureRate(0.10, 14)
	path := writeConfig(t, fmt.Sprintf(`providers = ["ali", "tc"]
[retry]
max_attempts = %d
first_backoff = "100ms"
max_backoff = "700ms"
attempt_timeout = "3s"
[breaker]
failures = 3
cool_down = "1s"
[rate_limit]
per_phone = 3
window = "1m"
[provider.ali]
type = "aliyun"
endpoint = %q
receipt_token_env = "E2E_ALI_RECEIPT_TOKEN"
[provider.tc]
type = "tencent"
endpoint = %q
sdk_app_id = %q
receipt_token_env = "E2E_TC_RECEIPT_TOKEN"
[template.verify_code]
params = ["code"]
[template.verify_code.ali]
template_code = "SMS_1"
sign_name = "Example"
[template.verify_code.tc]
template_code = "101"
sign_name = "Example"
`, provider.DefaultMaxAttempts, fa.URL(), fb.URL(), e2eAppID))
	a := startAgentWith(t, agent, gw,
		[]string{"-i", "4", "--keepalive-time", "2", "--exception-max", "1000", "--max-memory-restart", "150M",
			"--graceful-shutdown", "8000", "--env", `{"GATEWAY_FAULTS":"1"}`},
		sms.EnvDataDir+"="+t.TempDir(), provider.EnvConfig+"="+path,
		"ALIBABA_CLOUD_ACCESS_KEY_ID="+e2eAliyunID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+e2eAliyunSecret,
		"TENCENTCLOUD_SECRET_ID="+e2eTencentID, "TENCENTCLOUD_SECRET_KEY="+e2eTencentSecret,
		"E2E_ALI_RECEIPT_TOKEN="+e2eAliToken, "E2E_TC_RECEIPT_TOKEN="+e2eTcToken)
	fa.PushReceiptsTo("http://"+a.addr+"/api/sms/receipts/ali?token="+e2eAliToken, 100*time.Millisecond)
	// Tencent's receipts carry no message id, so one that overtook the
	// store's note of the provider id would be unknown: like the real ones
	// (a carrier round trip), they come after a while.
	fb.PushReceiptsTo("http://"+a.addr+"/api/sms/receipts/tc?token="+e2eTcToken, 2*time.Second)

	d := chaosDuration()
	ctx, stopChaos := context.WithCancel(context.Background())
	chaosDone := make(chan chaosLog)
	go func() { chaosDone <- chaos(ctx, t, a, d) }()
	go func() { // the primary's outage, from 40 % to 60 % of the run
		time.Sleep(d * 2 / 5) // the schedule of the outage, not synchronisation
		fa.SetMode(providertest.Fail)
		time.Sleep(d / 5)
		fa.SetMode(providertest.Normal)
	}()
	ids, lost := templateLoad(a.addr, 50, d)
	stopChaos()
	log := <-chaosDone

	c := &http.Client{Timeout: 5 * time.Second}
	recs := waitFinal(context.Background(), c, []string{a.addr}, ids, settleBound)
	sends := map[string]int{}
	for _, s := range append(fa.Sent(), fb.Sent()...) {
		sends[s.OutID]++
	}
	accepted := map[string]bool{}
	var missing, stuck, notSent, failedEarly []string
	dups, sentOK := 0, 0
	for _, id := range ids {
		accepted[id] = true
		m, ok := recs[id]
		switch {
		case !ok:
			missing = append(missing, id)
		case !m.Status.Final():
			stuck = append(stuck, id+" "+string(m.Status))
		case m.Status == sms.StatusFailed:
			if m.Attempts < provider.DefaultMaxAttempts {
				failedEarly = append(failedEarly, fmt.Sprintf("%s after %d: %s", id, m.Attempts, m.LastError))
			}
		default:
			sentOK++
			if sends[id] == 0 {
				notSent = append(notSent, id)
			}
		}
		if sends[id] > 1 {
			dups += sends[id] - 1
		}
	}
	unknown := 0
	for id := range sends {
		if !accepted[id] {
			unknown++
		}
	}
	lostWorkers := log.killed + log.stopped + log.grown + log.reloads*4
	if len(lost) > 0 || len(missing) > 0 || len(stuck) > 0 || len(notSent) > 0 || len(failedEarly) > 0 || unknown > 0 {
		t.Fatalf("lost before 202: %d; missing %d; stuck %d %v; recorded sent but never sent %d; failed early %v; SMS for unknown ids %d",
			len(lost), len(missing), len(stuck), first(stuck), len(notSent), first(failedEarly), unknown)
	}
	if bound := lostWorkers * sms.DefaultSenders; dups > bound {
		t.Fatalf("%d second sends, more than the %d calls the %d lost workers can have had under way", dups, bound, lostWorkers)
	}
	// Receipts: every message sent reaches delivered.
	delivered := 0
	deadline := time.Now().Add(settleBound)
	for _, id := range ids {
		for {
			m, ok := getMessage(c, a.addr, id)
			if ok && m.Status != sms.StatusSent {
				if m.Status == sms.StatusDelivered {
					delivered++
				}
				break
			}
			if time.Now().After(deadline) {
				var at []string
				for _, s := range append(fa.Sent(), fb.Sent()...) {
					if s.OutID == id {
						at = append(at, s.ProviderID+"@"+s.At.Format("15:04:05.000"))
					}
				}
				t.Fatalf("message %s still %s: its receipt was not applied; record %+v; provider sends %v", id, m.Status, m, at)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if delivered != sentOK {
		t.Fatalf("%d delivered of %d sent", delivered, sentOK)
	}
	t.Logf("%v of load, chaos %s: %d accepted, %d sent and delivered (%d via Aliyun, %d via Tencent calls), %d failed after their attempts; %d second sends (%d lost workers)",
		d, log, len(ids), sentOK, len(fa.Sent()), len(fb.Sent()), len(ids)-sentOK, dups, lostWorkers)
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// templateLoad sends verify_code messages to distinct phones at rate per
// second for d, each with its own Idempotency-Key, retrying a transport
// error or a 503 with the same key for up to 60 s. It returns the ids
// answered 202 and the messages that never were.
func templateLoad(addr string, rate int, d time.Duration) (ids []string, lost []int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	c := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.Now().Add(d)
	for i := 0; time.Now().Before(end); i++ {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := rand.Text()
			body := fmt.Sprintf(`{"phone":"+86139%08d","template":"verify_code","params":{"code":"%04d"}}`, i, i%10000)
			giveUp := time.Now().Add(60 * time.Second)
			for time.Now().Before(giveUp) {
				req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/sms/send", bytes.NewReader([]byte(body)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(sms.HeaderIdempotencyKey, key)
				resp, err := c.Do(req)
				if err == nil {
					var r sms.SendReply
					ok := resp.StatusCode == http.StatusAccepted && jsonDecode(resp, &r) == nil
					resp.Body.Close()
					if ok {
						mu.Lock()
						ids = append(ids, r.ID)
						mu.Unlock()
						return
					}
					if resp.StatusCode != http.StatusServiceUnavailable {
						break
					}
				}
				time.Sleep(100 * time.Millisecond)
			}
			mu.Lock()
			lost = append(lost, i)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return ids, lost
}
