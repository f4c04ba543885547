package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsGatewayUnderAgent is the gateway with 4 workers under the
// built agent with --metrics-address: the request counters in /metrics are
// exactly what the client saw, by interface and outcome, and a worker that
// crashes and is replaced neither loses nor repeats what was counted.
//
// It needs the agent to hand the workers' monitoring frames to package
// monitor and to serve --metrics-address (see monitor's package guide).
func TestMetricsGatewayUnderAgent(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startGateway(t, addr, "-i", "4", "--http-address", addr, "--metrics-address", metrics, "--exception-max", "10",
		"--env", `{"SMS_QUEUE_SIZE":"1","SMS_PROVIDER_LATENCY":"1h","GATEWAY_FAULTS":"1"}`)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

	// startGateway polled /healthz until its first 200: one request.
	seen := map[[2]string]int{{"/healthz", "success"}: 1}
	phone := 0
	do := func(method, path, body, iface string) int {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if iface != "" {
			outcome := "success"
			if resp.StatusCode >= 400 {
				outcome = "error"
			}
			seen[[2]string{iface, outcome}]++
		}
		return resp.StatusCode
	}
	load := func() {
		for range 20 {
			do("GET", "/healthz", "", "/healthz")
		}
		for range 5 {
			do("POST", "/api/sms/send", `{"phone":"12","content":"x"}`, "/api/sms/send") // 400
		}
		for range 30 { // 202 until a worker's queue is full, then 503
			phone++
			do("POST", "/api/sms/send", fmt.Sprintf(`{"phone":"+86139%08d","content":"hi"}`, phone), "/api/sms/send")
		}
		for i := range 5 {
			do("GET", fmt.Sprintf("/api/sms/unknown-%d", i), "", "/api/sms/{id}") // 404
		}
		do("GET", "/no/such/page", "", "/") // 404 of the catch-all
	}

	load()
	fams := waitMetrics(t, c, metrics, seen)
	for slot := range 4 {
		if v := metricValue(fams, "node_agent_worker_state", map[string]string{"slot": fmt.Sprint(slot), "state": "ready"}); v != 1 {
			t.Errorf("worker %d ready = %v", slot, v)
		}
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := c.Get("http://" + metrics + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}

	// A crash (its own request dies with the worker and is not counted),
	// then more load served partly by the replacement.
	if code := do("POST", "/debug/fault/crash", "", ""); code != 200 {
		t.Fatalf("crash fault: %d", code)
	}
	if !poll(20*time.Second, func() bool {
		fams := scrapeAgent(t, c, metrics)
		return metricValue(fams, "node_agent_exceptions_total", nil) == 1 && readyWorkers(fams) == 4
	}) {
		t.Fatal("no replacement ready within 20 s of the crash")
	}
	load()
	waitMetrics(t, c, metrics, seen)
}

func scrapeAgent(t *testing.T, c *http.Client, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// metricValue is the value of a counter or gauge series, -1 if absent.
func metricValue(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	fam, ok := fams[name]
	if !ok {
		return -1
	}
next:
	for _, m := range fam.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		if m.Counter != nil {
			return m.Counter.GetValue()
		}
		return m.Gauge.GetValue()
	}
	return -1
}

func readyWorkers(fams map[string]*dto.MetricFamily) int {
	n := 0
	for slot := range 4 {
		if metricValue(fams, "node_agent_worker_state", map[string]string{"slot": fmt.Sprint(slot), "state": "ready"}) == 1 {
			n++
		}
	}
	return n
}

// waitMetrics polls /metrics until the request counters add up to what the
// client saw, then checks every series is exact.
func waitMetrics(t *testing.T, c *http.Client, addr string, want map[[2]string]int) map[string]*dto.MetricFamily {
	t.Helper()
	total := 0
	for _, n := range want {
		total += n
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		fams := scrapeAgent(t, c, addr)
		got := 0.0
		if fam, ok := fams["node_agent_http_requests_total"]; ok {
			for _, m := range fam.Metric {
				got += m.Counter.GetValue()
			}
		}
		if int(got) >= total || time.Now().After(deadline) {
			for k, n := range want {
				if v := metricValue(fams, "node_agent_http_requests_total", map[string]string{"interface": k[0], "outcome": k[1]}); v != float64(n) {
					t.Errorf("requests{interface=%q,outcome=%q} = %v, want %d", k[0], k[1], v, n)
				}
			}
			if int(got) != total {
				t.Fatalf("%v requests counted, the client made %d", got, total)
			}
			return fams
		}
		time.Sleep(100 * time.Millisecond) // workers flush every second
	}
}
