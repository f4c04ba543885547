package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/internal/control"
	"github.com/nodeagent/node-agent/tars"
	"github.com/nodeagent/node-agent/tars/tarstest"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// counterSeries are the monotonic series of a scrape by name and labels:
// every counter, and the _count and _sum of summaries and histograms.
type counterSeries map[string]float64

// parseCounters reads the counter series of a /metrics answer, and
// whether every collector of the agent succeeded.
func parseCounters(body io.Reader) (counterSeries, bool, error) {
	fams, err := textParser().TextToMetricFamilies(body)
	if err != nil {
		return nil, false, err
	}
	out, ok := counterSeries{}, true
	for name, f := range fams {
		for _, m := range f.Metric {
			key := name + seriesLabels(m)
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.Counter.GetValue()
			case dto.MetricType_SUMMARY:
				out[key+"_count"], out[key+"_sum"] = float64(m.Summary.GetSampleCount()), m.Summary.GetSampleSum()
			case dto.MetricType_HISTOGRAM:
				out[key+"_count"], out[key+"_sum"] = float64(m.Histogram.GetSampleCount()), m.Histogram.GetSampleSum()
			}
			if name == "node_agent_collector_success" && m.Gauge.GetValue() != 1 {
				ok = false
			}
		}
	}
	return out, ok, nil
}

func seriesLabels(m *dto.Metric) string {
	var l []string
	for _, p := range m.Label {
		l = append(l, p.GetName()+"="+p.GetValue())
	}
	sort.Strings(l)
	return "{" + strings.Join(l, ",") + "}"
}

// decreased returns the series of before that now has a lower value, or
// is gone.
func (now counterSeries) decreased(before counterSeries) []string {
	var bad []string
	for k, v := range before {
		nv, ok := now[k]
		// Sums of float observations may be rounded differently once
		// carried: a relative 1e-9 is no reset.
		if !ok || nv < v-math.Abs(v)*1e-9 {
			bad = append(bad, fmt.Sprintf("%s: %v → %v (present %v)", k, v, nv, ok))
		}
	}
	sort.Strings(bad)
	return bad
}

// doorLoops calls the agent's own endpoints in loops: /metrics with a
// keep-alive http.Client (checking that no counter series goes down from
// one scrape to the next), AdminF notify with one tars.Client (one
// connection), the control socket's status. Every failure is kept.
type doorLoops struct {
	stop chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	calls    map[string]int
	failures []string
	last     counterSeries // the last scrape
	first    counterSeries
}

func startDoorLoops(t *testing.T, r *upgradeRig) *doorLoops {
	d := &doorLoops{stop: make(chan struct{}), calls: map[string]int{}}
	admin, err := tars.NewClient(tars.ServantAdmin+"@"+r.local, tars.ClientOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	web := &http.Client{Timeout: 10 * time.Second} // keep-alive
	loops := map[string]func() error{
		"metrics": func() error { return d.scrape(web, r.metrics) },
		"adminf": func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var res tars.StringResult
			if err := admin.Invoke(ctx, tars.FuncNotify, &tars.NotifyArgs{Command: "tars.viewversion"}, &res); err != nil {
				return err
			}
			if !strings.HasPrefix(res.Ret, "9.0.0-") {
				return fmt.Errorf("tars.viewversion answered %q", res.Ret)
			}
			return nil
		},
		"control": func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			text, err := control.Call(ctx, control.Path(r.ctlDir, r.name), control.Request{Op: control.OpStatus})
			if err == nil && !strings.Contains(text, `"version"`) {
				err = fmt.Errorf("status answered %q", text)
			}
			return err
		},
	}
	for name, call := range loops {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			for {
				select {
				case <-d.stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
				err := call()
				d.mu.Lock()
				d.calls[name]++
				if err != nil {
					d.failures = append(d.failures, fmt.Sprintf("%s at %s: %v", name, time.Now().Format("15:04:05.000"), err))
				}
				d.mu.Unlock()
			}
		}()
	}
	t.Cleanup(func() { d.finish(); admin.Close() })
	return d
}

func (d *doorLoops) scrape(c *http.Client, addr string) error {
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	now, ok, err := parseCounters(resp.Body)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.first == nil {
		d.first = now
	}
	if d.last != nil {
		if bad := now.decreased(d.last); len(bad) > 0 {
			return fmt.Errorf("counters went down since the previous scrape: %s", strings.Join(bad, "; "))
		}
	}
	d.last = now
	if !ok {
		return fmt.Errorf("a collector of the agent failed")
	}
	return nil
}

// progress waits until every loop made n more calls.
func (d *doorLoops) progress(t *testing.T, n int) {
	t.Helper()
	d.mu.Lock()
	base := map[string]int{}
	for k, v := range d.calls {
		base[k] = v
	}
	d.mu.Unlock()
	if !poll(60*time.Second, func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, k := range []string{"metrics", "adminf", "control"} {
			if d.calls[k] < base[k]+n {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("the loops on the agent's endpoints made fewer than %d calls each in 60 s: %v", n, d.calls)
	}
}

// finish stops the loops and returns their failures.
func (d *doorLoops) finish() []string {
	select {
	case <-d.stop:
	default:
		close(d.stop)
	}
	d.wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.failures
}

// TestUpgradeKeepsCountersAndEveryRequest: three upgrades in place while
// /metrics (keep-alive), AdminF (one TARS connection) and the control
// socket are called in loops, and the workers serve a keep-alive load:
// no call fails, no counter series of /metrics ever goes down (the
// workers' statistics, the TARS reporter's calls and the Go runtime's
// counters are carried), and the TARS StatF reports (a real @tars/rpc
// peer) add up to exactly the requests the agent counted: the interval in
// progress at each hand-over is reported once, by the new program.
func TestUpgradeKeepsCountersAndEveryRequest(t *testing.T) {
	peer := tarstest.StartStatPeer(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "node-agent-a"), filepath.Join(dir, "node-agent-b")
	buildAll(t, agentBuild(a, "9.0.0-a"), agentBuild(b, "9.0.0-b"), workerBuild(dir))
	conf := filepath.Join(dir, "Upg.Worker.config.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`<tars>
  <application>
    <client>
      stat=%s
      property=%s
      report-interval=10000
      modulename=Upg.Worker
    </client>
  </application>
</tars>
`, peer.Stat, peer.Property)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := startRig(t, a, dir, 4, rigOptions{args: []string{"--config=" + conf}})
	load := startKeepAliveLoad(r.addr, 2)
	defer load.finish()
	doors := startDoorLoops(t, r)
	doors.progress(t, 20)
	// The StatF reports, as they come: after the first and the last
	// upgrade, a new program reports an interval the old one opened.
	var received []tarstest.StatCall
	awaitReport := func() {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for n := len(received); ; {
			received = append(received, peer.Drain(t, 200*time.Millisecond)...)
			for _, c := range received[n:] {
				if c.Func == "reportMicMsg" {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("no StatF report within 30 s")
			}
		}
	}
	for i, bin := range []string{b, a, b} {
		out, code := r.upgrade(a, bin)
		if code != 0 || !strings.Contains(out, "upgraded in place") {
			t.Fatalf("upgrade %d: exit %d, %q", i+1, code, out)
		}
		t.Logf("upgrade %d: %s", i+1, out)
		doors.progress(t, 20)
		if i != 1 {
			awaitReport()
		}
	}
	if failures := load.finish(); len(failures) > 0 {
		t.Fatalf("%d requests to the workers failed, first: %v", len(failures), failures[0])
	}
	failures := doors.finish()
	doors.mu.Lock()
	calls, first, last := doors.calls, doors.first, doors.last
	doors.mu.Unlock()
	if len(failures) > 0 {
		t.Fatalf("%d of the calls to the agent's endpoints failed across 3 upgrades (%v), first: %s", len(failures), calls, strings.Join(failures[:min(5, len(failures))], "\n"))
	}
	t.Logf("calls to the agent's endpoints across 3 upgrades, none failed: %v", calls)
	if bad := last.decreased(first); len(bad) > 0 {
		t.Fatalf("counters lower after the upgrades than before: %s", strings.Join(bad, "; "))
	}
	for _, k := range []string{`go_memstats_alloc_bytes_total{}`, `node_agent_http_requests_total{interface=/healthz,outcome=success}`} {
		if last[k] <= first[k] {
			t.Errorf("%s did not grow across the upgrades: %v → %v", k, first[k], last[k])
		}
	}

	// The requests the agent counted, once the workers flushed them all.
	counted := func() float64 {
		resp, err := http.Get("http://" + r.metrics + "/metrics")
		if err != nil {
			return -1
		}
		defer resp.Body.Close()
		now, _, err := parseCounters(resp.Body)
		if err != nil {
			return -1
		}
		var n float64
		for k, v := range now {
			if strings.HasPrefix(k, "node_agent_http_requests_total{") {
				n += v
			}
		}
		return n
	}
	total, prev := -1.0, -2.0
	if !poll(30*time.Second, func() bool {
		prev, total = total, counted()
		if total != prev || total < 0 {
			time.Sleep(time.Second) // the workers flush every second or so
			return false
		}
		return true
	}) {
		t.Fatalf("the request count never settled (%v, %v)", prev, total)
	}
	r.a.cmd.Process.Signal(syscall.SIGTERM) // the last interval is reported
	if code := waitExit(t, r.a, 30*time.Second); code != 0 {
		t.Fatalf("the agent exited with %d", code)
	}
	reported, reports := 0, 0
	for _, c := range append(received, peer.Drain(t, 3*time.Second)...) {
		if c.Func != "reportMicMsg" {
			continue
		}
		reports++
		for _, raw := range c.Msg {
			var row tarstest.StatRow
			if err := json.Unmarshal(raw, &row); err != nil {
				t.Fatal(err)
			}
			reported += row.Body.Count + row.Body.ExecCount
		}
	}
	if reports < 3 {
		t.Fatalf("StatF received %d reports, want at least 3 (two periodic ones by new programs, the last one)", reports)
	}
	if float64(reported) != total {
		t.Fatalf("StatF received %d requests in %d reports, the agent counted %v: the intervals across the hand-overs were not reported exactly once", reported, reports, total)
	}
	t.Logf("StatF received %d requests in %d reports, as the agent counted", reported, reports)
}

func textParser() *expfmt.TextParser {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return &p
}
