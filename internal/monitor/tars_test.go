package monitor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/nodeagent/node-agent/container/wire"
	"github.com/nodeagent/node-agent/tars"
)

// fakeSender records calls, encoded as they would go on the wire.
type fakeSender struct {
	mu    sync.Mutex
	calls []sentCall
	fail  error
	sent  chan struct{} // a token per call, if not nil
}

type sentCall struct {
	obj, fn string
	oneway  bool
	args    []byte
}

func (f *fakeSender) Invoke(ctx context.Context, obj, fn string, args tars.Struct, oneway bool) error {
	f.mu.Lock()
	f.calls = append(f.calls, sentCall{obj, fn, oneway, tars.Marshal(args)})
	f.mu.Unlock()
	if f.sent != nil {
		f.sent <- struct{}{}
	}
	return f.fail
}

func (f *fakeSender) stats(t *testing.T) []tars.StatMicMsg {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var rows []tars.StatMicMsg
	for _, c := range f.calls {
		if c.fn != tars.FuncReportMicMsg {
			continue
		}
		var a tars.ReportMicMsgArgs
		if err := tars.Unmarshal(c.args, &a); err != nil {
			t.Fatal(err)
		}
		if a.FromClient || !c.oneway {
			t.Fatalf("reportMicMsg with bFromClient=%v oneway=%v, want a one-way server-side report", a.FromClient, c.oneway)
		}
		rows = append(rows, a.Msg...)
	}
	return rows
}

func TestStatRowsAsTarsExpectsThem(t *testing.T) {
	a := NewAggregator()
	var slow wire.Latencies // one request in each bucket, 3 over 3 s
	for i := range wire.LatencyBuckets {
		slow.Buckets[i] = 1
	}
	slow.Buckets[wire.LatencyBuckets-1] = 3
	slow.SumMicros, slow.MinMicros, slow.MaxMicros = 20_000_400, 1_400, 9_000_000
	a.Handle(0, 1, frame(t, wire.KindStats, wire.Stats{HTTP: []wire.HTTPStat{
		{Interface: "/b", Success: slow, Failure: requests(2, 0, 100)},
		{Interface: "/a", Failure: requests(1, 3, 70_000)},
	}}))
	send := &fakeSender{}
	r := NewTarsReporter(a, send, TarsOptions{Stat: "tars.tarsstat.StatObj", ModuleName: "App.Server", SlaveIP: "10.0.0.5", SlavePort: 8080})
	if err := r.Report(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows := send.stats(t)
	if len(rows) != 2 || rows[0].Key.InterfaceName != "/a" || rows[1].Key.InterfaceName != "/b" {
		t.Fatalf("rows %+v, want /a then /b", rows)
	}
	head := tars.StatMicMsgHead{MasterName: "http_client", SlaveName: "App.Server", InterfaceName: "/b", SlaveIP: "10.0.0.5", SlavePort: 8080}
	if rows[1].Key != head {
		t.Fatalf("head %+v, want %+v", rows[1].Key, head)
	}
	body := rows[1].Value
	want := "count=12 exec=2 timeout=0 total=20000 max=9000 min=1 hist=map[5:1 10:1 50:1 100:1 200:1 500:1 1000:1 2000:1 3000:4]"
	got := fmt.Sprintf("count=%d exec=%d timeout=%d total=%d max=%d min=%d hist=%v", body.Count, body.ExecCount, body.TimeoutCount,
		body.TotalRspTime, body.MaxRspTime, body.MinRspTime, body.IntervalCount)
	if got != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
	if b := rows[0].Value; b.Count != 0 || b.ExecCount != 1 || b.TotalRspTime != 0 || len(b.IntervalCount) != 9 {
		t.Fatalf("failures only: %+v", b)
	}
}

func TestReportSplitsUnderMaxCallSize(t *testing.T) {
	a := NewAggregator()
	var s wire.Stats
	for i := range 150 {
		s.HTTP = append(s.HTTP, wire.HTTPStat{Interface: fmt.Sprintf("/api/v1/resource-%03d/%s", i, strings.Repeat("x", 40)), Success: requests(1, 0, 100)})
	}
	a.Handle(0, 1, frame(t, wire.KindStats, s))
	var props wire.Properties
	for i := range 50 {
		props.Props = append(props.Props, wire.Property{Name: fmt.Sprintf("App.Server.p%02d", i), Policies: []string{"Sum"}, Count: 1, Sum: 1})
	}
	a.Handle(0, 1, frame(t, wire.KindProperties, props))
	send := &fakeSender{}
	r := NewTarsReporter(a, send, TarsOptions{Stat: "stat", Property: "property", MaxCallSize: 1400})
	if err := r.Report(context.Background()); err != nil {
		t.Fatal(err)
	}
	var statCalls, propCalls, propRowsSeen int
	for _, c := range send.calls {
		if len(c.args) > 1400 {
			t.Errorf("%s call of %d bytes, over the limit of 1400", c.fn, len(c.args))
		}
		switch c.fn {
		case tars.FuncReportMicMsg:
			statCalls++
		case tars.FuncReportPropMsg:
			propCalls++
			var p tars.ReportPropMsgArgs
			if err := tars.Unmarshal(c.args, &p); err != nil {
				t.Fatal(err)
			}
			propRowsSeen += len(p.StatMsg)
		}
	}
	if rows := len(send.stats(t)); rows != wire.MaxInterfaces+1 || statCalls < 2 {
		t.Fatalf("%d stat rows in %d calls, want %d rows split over several calls", rows, statCalls, wire.MaxInterfaces+1)
	}
	if propRowsSeen != 50 || propCalls < 2 {
		t.Fatalf("%d property rows in %d calls, want 50 over several calls", propRowsSeen, propCalls)
	}
}

func TestReportOnlyConfiguredServantsAndCountsResults(t *testing.T) {
	a := NewAggregator()
	a.Handle(0, 1, frame(t, wire.KindStats, wire.Stats{HTTP: []wire.HTTPStat{{Interface: "/", Success: requests(1, 0, 10)}}}))
	a.ObserveUsage(0, 1, 1, 0)
	send := &fakeSender{fail: errors.New("connection refused")}
	r := NewTarsReporter(a, send, TarsOptions{Property: "tars.tarsproperty.PropertyObj"})
	err := r.Report(context.Background())
	if err == nil || !strings.Contains(err.Error(), "reportPropMsg to tars.tarsproperty.PropertyObj: connection refused") {
		t.Fatalf("error %v", err)
	}
	if len(send.calls) != 1 || send.calls[0].fn != tars.FuncReportPropMsg {
		t.Fatalf("calls %+v, want one reportPropMsg (no stat servant configured)", send.calls)
	}
	h := NewHandler(MetricsOptions{Source: staticSource(Snapshot{}, nil), Aggregator: a, Reporter: r})
	fams := scrape(t, h)
	if got := fams.value("node_agent_tars_reports_total", map[string]string{"servant": "property", "result": "error"}); got != 1 {
		t.Fatalf("failed property reports: %v, want 1", got)
	}
	if got := fams.value("node_agent_tars_reports_total", map[string]string{"servant": "stat", "result": "ok"}); got != 0 {
		t.Fatalf("stat reports: %v, want 0", got)
	}
}

func TestRunReportsTheLastIntervalWhenStopped(t *testing.T) {
	a := NewAggregator()
	send := &fakeSender{sent: make(chan struct{}, 10)}
	r := NewTarsReporter(a, send, TarsOptions{Stat: "stat", Interval: 1}) // clamped to 10 s
	if r.Interval() != MinReportInterval {
		t.Fatalf("interval %v, want %v", r.Interval(), MinReportInterval)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	a.Handle(0, 1, frame(t, wire.KindStats, wire.Stats{HTTP: []wire.HTTPStat{{Interface: "/", Success: requests(4, 0, 10)}}}))
	cancel()
	<-done
	if rows := send.stats(t); len(rows) != 1 || rows[0].Value.Count != 4 {
		t.Fatalf("last report %+v, want the 4 requests", rows)
	}
}

func TestFormatValue(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 3: "3", 2.5: "2.5", 1.0 / 3: "0.333", 123456789012: "123456789012", -1.5: "-1.5", 0.0004: "0"} {
		if got := formatValue(v); got != want {
			t.Errorf("formatValue(%v) = %q, want %q", v, got, want)
		}
	}
}
