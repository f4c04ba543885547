package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
	"github.com/nodeagent/node-agent/tars"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// carryThroughJSON is what an agent upgrading in place does with Carried:
// it goes through the hand-over document.
func carryThroughJSON(t *testing.T, c *Carried) *Carried {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var got Carried
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	return &got
}

// TestCarriedStatisticsContinue: the totals, the interval in progress and
// the reporter's call counts carried to a new Aggregator and reporter
// continue there: /metrics shows the old totals plus the new batches, and
// the interval is reported once, by the new reporter, with both.
func TestCarriedStatisticsContinue(t *testing.T) {
	old := NewAggregator()
	oldSend := &fakeSender{}
	clock := time.Unix(1700000000, 0)
	oldRep := NewTarsReporter(old, oldSend, TarsOptions{Stat: "stat", Property: "prop", Now: func() time.Time { return clock }})
	stats := func(a *Aggregator, n uint64) {
		a.Handle(0, 7, frame(t, wire.KindStats, wire.Stats{HTTP: []wire.HTTPStat{{Interface: "/send", Success: requests(n, 2, 1500), Failure: requests(1, 0, 10)}}}))
		a.Handle(0, 7, frame(t, wire.KindProperties, wire.Properties{Props: []wire.Property{{Name: "queue", Policies: []string{wire.PolicySum, wire.PolicyCount}, Count: 2, Sum: 5, Min: 2, Max: 3}},
			Runtime: &wire.Runtime{HeapUsed: 1 << 20, Goroutines: 9}}))
		a.ObserveUsage(0, 7, 4096, 0.5)
	}
	stats(old, 10)
	if err := oldRep.Report(context.Background()); err != nil { // one interval reported by the old program
		t.Fatal(err)
	}
	stats(old, 3) // the interval in progress at the hand-over
	old.Handle(0, 7, wire.Message{Kind: wire.KindStats, Body: []byte("{")})
	release := oldRep.Hold()
	c := carryThroughJSON(t, Carry(old, oldRep, nil))
	release()

	clock = clock.Add(4 * time.Second) // the new program starts 4 s into the interval
	fresh := NewAggregator()
	RestoreAggregator(fresh, c)
	send := &fakeSender{}
	rep := NewTarsReporter(fresh, send, TarsOptions{Stat: "stat", Property: "prop", Carried: c, Now: func() time.Time { return clock }})
	if left := rep.nextReport(); left != MinReportInterval-4*time.Second {
		t.Fatalf("first report of the new program due in %v, want the carried interval's end, %v", left, MinReportInterval-4*time.Second)
	}
	stats(fresh, 5)
	fams := scrape(t, NewHandler(MetricsOptions{Source: staticSource(Snapshot{}, nil), Aggregator: fresh, Reporter: rep}))
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"node_agent_http_requests_total", map[string]string{"interface": "/send", "outcome": "success"}, 18},
		{"node_agent_http_requests_total", map[string]string{"interface": "/send", "outcome": "error"}, 3},
		{"node_agent_monitor_rejected_total", nil, 1},
		{"node_agent_tars_reports_total", map[string]string{"servant": "stat", "result": "ok"}, 1},
		{"node_agent_tars_reports_total", map[string]string{"servant": "property", "result": "ok"}, 1},
	} {
		if got := fams.value(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v after the hand-over, want %v", c.name, c.labels, got, c.want)
		}
	}
	if m := fams.series("node_agent_property", map[string]string{"property": "queue"}); m == nil || m.Summary.GetSampleCount() != 6 || m.Summary.GetSampleSum() != 15 {
		t.Errorf("property queue %v, want count 6, sum 15", m)
	}
	if err := rep.Report(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The interval: the 3+1 requests carried and the 5+1 new ones, once.
	old3, new5 := oldSend.stats(t), send.stats(t)
	if len(old3) != 1 || old3[0].Value.Count != 10 {
		t.Fatalf("old program's reports %+v, want its first interval only", old3)
	}
	if len(new5) != 1 || new5[0].Value.Count != 8 || new5[0].Value.ExecCount != 2 {
		t.Fatalf("new program's first report %+v, want 8 successes and 2 failures (carried and new)", new5)
	}
}

// TestHoldWaitsForAReportInProgress: Hold returns only once a report on
// its way is sent, and no report starts while held.
func TestHoldWaitsForAReportInProgress(t *testing.T) {
	a := NewAggregator()
	a.Handle(0, 1, frame(t, wire.KindStats, wire.Stats{HTTP: []wire.HTTPStat{{Interface: "/", Success: requests(1, 0, 10)}}}))
	send := &gatedSender{entered: make(chan struct{}, 2), gate: make(chan struct{})}
	r := NewTarsReporter(a, send, TarsOptions{Stat: "stat"})
	reported := make(chan error)
	go func() { reported <- r.Report(context.Background()) }()
	<-send.entered // the report is in its call
	held := make(chan func())
	go func() { held <- r.Hold() }()
	select {
	case <-held:
		t.Fatal("Hold returned while a report was being sent")
	case <-time.After(50 * time.Millisecond):
	}
	close(send.gate)
	<-reported
	release := <-held
	go func() { reported <- r.Report(context.Background()) }()
	select {
	case err := <-reported:
		t.Fatalf("a report ran while held: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	if err := <-reported; err != nil {
		t.Fatal(err)
	}
}

// TestGoCountersCarried: the Go runtime's counters of the old program are
// added to the new one's, so they never go down; gauges are the new
// runtime's own.
func TestGoCountersCarried(t *testing.T) {
	reg := prometheus.NewRegistry()
	gc := prometheus.NewCounter(prometheus.CounterOpts{Name: "go_things_total", Help: "h"})
	sum := prometheus.NewSummary(prometheus.SummaryOpts{Name: "go_pause_seconds", Help: "h"})
	hist := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "go_sizes", Help: "h", Buckets: []float64{1, 10}})
	gauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "go_level", Help: "h"})
	mine := prometheus.NewCounter(prometheus.CounterOpts{Name: "node_agent_mine_total", Help: "h"})
	reg.MustRegister(gc, sum, hist, gauge, mine)
	gc.Add(5)
	sum.Observe(0.5)
	hist.Observe(3)
	gauge.Set(7)
	mine.Add(9)
	carried := carryThroughJSON(t, &Carried{Go: newCarryGatherer(reg, reg, nil).carryGo()})
	if len(carried.Go) != 3 {
		t.Fatalf("carried %+v, want the three go_ counter families", carried.Go)
	}
	gc.Add(1) // the new runtime's own
	g := newCarryGatherer(reg, reg, carried)
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		m := mf.Metric[0]
		switch {
		case m.Counter != nil:
			got[mf.GetName()] = m.Counter.GetValue()
		case m.Summary != nil:
			got[mf.GetName()] = float64(m.Summary.GetSampleCount())
		case m.Histogram != nil:
			got[mf.GetName()] = float64(m.Histogram.Bucket[1].GetCumulativeCount())
		case m.Gauge != nil:
			got[mf.GetName()] = m.Gauge.GetValue()
		}
	}
	want := map[string]float64{"go_things_total": 11, "go_pause_seconds": 2, "go_sizes": 2, "go_level": 7, "node_agent_mine_total": 9}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s = %v, want %v", name, got[name], w)
		}
	}
	if _, err := newCarryGatherer(failingGatherer{}, reg, carried).Gather(); err == nil {
		t.Fatal("a gather error was lost")
	}
}

type failingGatherer struct{}

func (failingGatherer) Gather() ([]*dto.MetricFamily, error) { return nil, errors.New("broken") }

// gatedSender signals each call on entered and holds it until gate closes.
type gatedSender struct{ entered, gate chan struct{} }

func (g *gatedSender) Invoke(ctx context.Context, obj, fn string, args tars.Struct, oneway bool) error {
	g.entered <- struct{}{}
	<-g.gate
	return nil
}
