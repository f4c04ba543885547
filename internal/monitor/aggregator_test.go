package monitor

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRestartDoesNotDoubleCount feeds the batches of a worker, of its
// replacement in the same slot, and of another slot: the totals are their
// sum, whatever the order.
func TestRestartDoesNotDoubleCount(t *testing.T) {
	a := NewAggregator()
	batch := func(ok, failed uint64) wire.Message {
		return frame(t, wire.KindStats, wire.Stats{HTTP: []wire.HTTPStat{{
			Interface: "/api", Success: requests(ok, 1, 7000), Failure: requests(failed, 0, 900),
		}}})
	}
	for _, b := range []struct {
		slot, pid  int
		ok, failed uint64
	}{
		{0, 100, 5, 1}, {1, 101, 2, 0}, {0, 100, 3, 0}, // pid 100 crashes here
		{0, 200, 4, 2}, {1, 101, 1, 1},
	} {
		if err := a.Handle(b.slot, b.pid, batch(b.ok, b.failed)); err != nil {
			t.Fatal(err)
		}
	}
	h := NewHandler(MetricsOptions{Source: staticSource(Snapshot{}, nil), Aggregator: a})
	fams := scrape(t, h)
	ok := fams.value("node_agent_http_requests_total", map[string]string{"interface": "/api", "outcome": "success"})
	failed := fams.value("node_agent_http_requests_total", map[string]string{"interface": "/api", "outcome": "error"})
	if ok != 15 || failed != 4 {
		t.Fatalf("/api: %v successes, %v errors; want 15 and 4", ok, failed)
	}
	hist := fams.series("node_agent_http_request_duration_seconds", map[string]string{"interface": "/api", "outcome": "success"}).Histogram
	if hist.GetSampleCount() != 15 || hist.GetSampleSum() != 15*0.007 {
		t.Fatalf("histogram count %d sum %v, want 15 and 0.105", hist.GetSampleCount(), hist.GetSampleSum())
	}
	for _, b := range hist.Bucket {
		want := uint64(15)
		if b.GetUpperBound() < 0.010 {
			want = 0 // 7 ms requests are in (5 ms, 10 ms]
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
	// The interval for TARS holds the same sums, and is then empty.
	iv := a.takeInterval()
	if n := iv.http["/api"].success.Count(); n != 15 {
		t.Fatalf("interval: %d successes, want 15", n)
	}
	if iv := a.takeInterval(); len(iv.http) != 0 {
		t.Fatalf("second interval not empty: %v", iv.http)
	}
}

func TestAggregatorCapsInterfaces(t *testing.T) {
	a := NewAggregator()
	// Two workers with 100 names each, mostly different: the agent keeps
	// at most 100 and counts the others under "(other)".
	for w := range 2 {
		var s wire.Stats
		for i := range wire.MaxInterfaces {
			s.HTTP = append(s.HTTP, wire.HTTPStat{Interface: fmt.Sprintf("/w%d/%d", w, i), Success: requests(1, 0, 10)})
		}
		a.Handle(w, 100+w, frame(t, wire.KindStats, s))
	}
	a.Handle(0, 100, frame(t, wire.KindStats, wire.Stats{HTTP: []wire.HTTPStat{{Interface: "/bad\xff", Success: requests(1, 0, 10)}}}))
	fams := scrape(t, NewHandler(MetricsOptions{Source: staticSource(Snapshot{}, nil), Aggregator: a}))
	names := fams.labelValues("node_agent_http_requests_total", "interface")
	if len(names) != 2*(wire.MaxInterfaces+1) { // two outcomes each
		t.Fatalf("%d series, want %d", len(names), 2*(wire.MaxInterfaces+1))
	}
	if n := fams.value("node_agent_http_requests_total", map[string]string{"interface": wire.OtherInterface, "outcome": "success"}); n != wire.MaxInterfaces+1 {
		t.Fatalf("%s: %v, want %d", wire.OtherInterface, n, wire.MaxInterfaces+1)
	}
}

func TestAggregatorRejectsBadBatches(t *testing.T) {
	a := NewAggregator()
	if err := a.Handle(0, 1, wire.Message{Kind: wire.KindStats, Body: []byte("{")}); !errors.Is(err, ErrBatch) {
		t.Fatalf("truncated stats: %v, want ErrBatch", err)
	}
	if err := a.Handle(0, 1, wire.Message{Kind: wire.KindProperties}); !errors.Is(err, ErrBatch) {
		t.Fatalf("empty properties: %v, want ErrBatch", err)
	}
	if err := a.Handle(0, 1, wire.Message{Kind: 19, Body: []byte("junk")}); err != nil {
		t.Fatalf("unknown monitoring kind: %v, want it ignored", err)
	}
	props := wire.Properties{Props: []wire.Property{
		{Name: "", Policies: []string{"Max"}, Count: 1},                                             // no name
		{Name: "none", Policies: []string{"Bogus"}, Count: 1},                                       // no known policy
		{Name: "empty", Policies: []string{"Max"}},                                                  // no values
		{Name: "distr", Policies: []string{"Distr", "Sum"}, Count: 2, Sum: 3, Ranges: []float64{1}}, // no counts: Distr dropped
	}}
	a.Handle(0, 1, frame(t, wire.KindProperties, props))
	fams := scrape(t, NewHandler(MetricsOptions{Source: staticSource(Snapshot{}, nil), Aggregator: a}))
	if n := fams.value("node_agent_monitor_rejected_total", nil); n != 2+3 {
		t.Fatalf("rejected: %v, want 5 (2 batches, 3 properties)", n)
	}
	if got := fams.labelValues("node_agent_property", "property"); fmt.Sprint(got) != "[distr]" {
		t.Fatalf("properties exported: %v, want only distr", got)
	}
	if fams.series("node_agent_property_distribution", nil) != nil {
		t.Fatal("a malformed distribution was exported")
	}
}

// TestPropertyPoliciesMergedAcrossWorkers checks the TARS values of each
// policy against hand-computed ones: worker 0 reported 1, 2, 3 and worker 1
// reported 10 and 20 during the interval.
func TestPropertyPoliciesMergedAcrossWorkers(t *testing.T) {
	a := NewAggregator()
	pols := []string{"Max", "Min", "Count", "Sum", "Avg", "Distr"}
	a.Handle(0, 100, frame(t, wire.KindProperties, wire.Properties{Props: []wire.Property{{
		Name: "App.Server.depth", Policies: pols, Count: 3, Sum: 6, Min: 1, Max: 3,
		Ranges: []float64{2, 15}, Distr: []uint64{2, 1, 0},
	}}}))
	a.Handle(1, 101, frame(t, wire.KindProperties, wire.Properties{Props: []wire.Property{{
		Name: "App.Server.depth", Policies: pols, Count: 2, Sum: 30, Min: 10, Max: 20,
		Ranges: []float64{2, 15}, Distr: []uint64{0, 1, 1},
	}}}))
	iv := a.takeInterval()
	rows := propRows(&iv, TarsOptions{}.withDefaults())
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1: %+v", len(rows), rows)
	}
	want := "[{Max 20} {Min 1} {Count 5} {Sum 36} {Avg 7.2} {Distr 2|2,15|2}]"
	if got := fmt.Sprint(rows[0].Value.VInfo); got != want {
		t.Fatalf("policies: %s, want %s", got, want)
	}
	if h := rows[0].Key; h.PropertyName != "App.Server.depth" || h.ModuleName != DefaultModuleName || h.IP != DefaultLocalIP || h.IPropertyVer != 2 {
		t.Fatalf("head %+v", h)
	}
	// Prometheus: a summary of count and sum, and the distribution.
	fams := scrape(t, NewHandler(MetricsOptions{Source: staticSource(Snapshot{}, nil), Aggregator: a}))
	if s := fams.series("node_agent_property", map[string]string{"property": "App.Server.depth"}).Summary; s.GetSampleCount() != 5 || s.GetSampleSum() != 36 {
		t.Fatalf("summary %v", s)
	}
	h := fams.series("node_agent_property_distribution", map[string]string{"property": "App.Server.depth"}).Histogram
	if fmt.Sprint(h.Bucket[0].GetCumulativeCount(), h.Bucket[1].GetCumulativeCount(), h.GetSampleCount()) != "2 4 5" {
		t.Fatalf("distribution %v", h)
	}
}

func TestUsageSamplesMaxMinAvg(t *testing.T) {
	a := NewAggregator()
	a.ObserveUsage(0, 100, 10<<20, 0.25)
	a.ObserveUsage(1, 101, 30<<20, 0.5)
	a.ObserveUsage(0, 100, 20<<20, 0)
	a.Handle(0, 100, frame(t, wire.KindProperties, wire.Properties{Runtime: &wire.Runtime{HeapUsed: 1000, HeapTotal: 4000, Goroutines: 7, GCPause: 0.0015, SchedLatency: 0.0001}}))
	a.Handle(1, 101, frame(t, wire.KindProperties, wire.Properties{Runtime: &wire.Runtime{HeapUsed: 3000, HeapTotal: 4000, Goroutines: 9}}))
	iv := a.takeInterval()
	rows := propRows(&iv, TarsOptions{ModuleName: "App.Server"}.withDefaults())
	got := map[string]string{}
	for _, r := range rows {
		got[r.Key.PropertyName] = fmt.Sprint(r.Value.VInfo)
	}
	want := map[string]string{
		"App.Server.rss":          "[{Max 31457280} {Min 10485760} {Avg 20971520}]",
		"App.Server.cpuUsage":     "[{Max 50} {Min 0} {Avg 25}]",
		"App.Server.heapUsed":     "[{Max 3000} {Min 1000} {Avg 2000}]",
		"App.Server.heapTotal":    "[{Max 4000} {Min 4000} {Avg 4000}]",
		"App.Server.goroutines":   "[{Max 9} {Min 7} {Avg 8}]",
		"App.Server.gcPause":      "[{Max 1.5} {Min 0} {Avg 0.75}]",
		"App.Server.schedLatency": "[{Max 0.1} {Min 0} {Avg 0.05}]",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("usage rows:\n got %v\nwant %v", got, want)
	}
	if rows[0].Key.PropertyName != "App.Server.rss" || rows[1].Key.PropertyName != "App.Server.cpuUsage" {
		t.Fatalf("usage order: %s, %s first, want rss and cpuUsage", rows[0].Key.PropertyName, rows[1].Key.PropertyName)
	}
}

// TestCollectorsArePedantic registers the collectors with a pedantic
// registry: every metric is described and consistent.
func TestCollectorsArePedantic(t *testing.T) {
	a := NewAggregator()
	a.Handle(0, 100, frame(t, wire.KindStats, wire.Stats{HTTP: []wire.HTTPStat{{Interface: "/x", Success: requests(1, 2, 20000)}}}))
	a.Handle(0, 100, frame(t, wire.KindProperties, wire.Properties{
		Props:   []wire.Property{{Name: "p", Policies: []string{"Distr"}, Count: 1, Sum: 1, Min: 1, Max: 1, Ranges: []float64{1}, Distr: []uint64{1, 0}}},
		Runtime: &wire.Runtime{HeapUsed: 1}}))
	r := NewTarsReporter(a, &fakeSender{}, TarsOptions{Stat: "s"})
	snap := Snapshot{Workers: []Worker{{Slot: 0, PID: 100, State: StateReady, Restarts: map[string]uint64{"crash": 1}}}}
	cs := &collectorSet{timeout: DefaultCheckTimeout, list: []collector{
		workersCollector(staticSource(snap, nil), a, timeNow), statsCollector(a), r.collector(),
	}}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(cs)
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, "node_agent_worker_state"); err != nil || n != len(states) {
		t.Fatalf("worker_state series: %d %v", n, err)
	}
}

// An idle worker sends a runtime sample every few intervals only: its last
// sample stands for it in the intervals without one, until it is stale.
func TestIdleWorkerRuntimeCountsInEveryInterval(t *testing.T) {
	a := NewAggregator()
	now := time.Unix(1000, 0)
	a.now = func() time.Time { return now }
	sample := func(slot, pid int, goroutines uint64) {
		if err := a.Handle(slot, pid, frame(t, wire.KindProperties, wire.Properties{Runtime: &wire.Runtime{Goroutines: goroutines}})); err != nil {
			t.Fatal(err)
		}
	}
	goroutines := func() samples { iv := a.takeInterval(); return *iv.usage[UsageGoroutines] }
	sample(0, 100, 4)
	sample(1, 101, 8)
	if g := goroutines(); g.n != 2 || g.min != 4 || g.max != 8 {
		t.Fatalf("interval with both samples: %+v", g)
	}
	now = now.Add(time.Second)
	sample(1, 101, 10) // slot 0 is idle
	if g := goroutines(); g.n != 2 || g.min != 4 || g.max != 10 {
		t.Fatalf("interval with slot 0 idle: %+v, want its last sample (4) counted", g)
	}
	now = now.Add(runtimeStale)
	if g := goroutines(); g.n != 0 {
		t.Fatalf("stale samples counted: %+v", g)
	}
}
