package contrib

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
	"github.com/nodeagent/node-agent/internal/monitor"
	"github.com/nodeagent/node-agent/internal/testtool"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const (
	rulesFile     = "prometheus/node-agent-rules.yml"
	rulesTestFile = "prometheus/node-agent-rules.test.yml"
	dashboardFile = "grafana/node-agent-dashboard.json"
)

func promtool(t *testing.T, args ...string) {
	t.Helper()
	bin := testtool.Require(t, "promtool", "apt-get install prometheus")
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestRules: the rules are valid, and every alert fires on the series
// that should fire it (the promtool unit tests beside them).
func TestRules(t *testing.T) {
	promtool(t, "check", "rules", rulesFile)
	promtool(t, "test", "rules", rulesTestFile)
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	Panels []struct {
		ID         int    `json:"id"`
		Title      string `json:"title"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		GridPos struct{ X, Y, W, H int } `json:"gridPos"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// dashboardExprs returns the dashboard's expressions with Grafana's
// variables replaced by values PromQL accepts.
func dashboardExprs(d dashboard) []string {
	vars := strings.NewReplacer("$__rate_interval", "5m", "$job", ".*", "$instance", ".*")
	var exprs []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, vars.Replace(tg.Expr))
		}
	}
	return exprs
}

// TestDashboard: every panel uses the data source variable and fits the
// grid, ids are unique, and every expression is valid PromQL (promtool
// checks them as recording rules).
func TestDashboard(t *testing.T) {
	d := loadDashboard(t)
	if len(d.Panels) < 10 {
		t.Fatalf("%d panels", len(d.Panels))
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: data source %q, %d targets", p.Title, p.Datasource.UID, len(p.Targets))
		}
		if p.GridPos.X+p.GridPos.W > 24 || p.GridPos.W == 0 || p.GridPos.H == 0 {
			t.Errorf("panel %q: grid %+v", p.Title, p.GridPos)
		}
	}
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range dashboardExprs(d) {
		q, _ := json.Marshal(e) // a JSON string is a YAML string
		fmt.Fprintf(&rules, "      - record: dashboard:expr%d\n        expr: %s\n", i, q)
	}
	path := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	promtool(t, "check", "rules", path)
}

// TestMetricsExported: every node_agent_ metric the rules and the
// dashboard name is in the exposition of the agent's real metrics handler.
func TestMetricsExported(t *testing.T) {
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	nameRE := regexp.MustCompile(`node_agent_[a-z_]+`)
	for _, text := range append(dashboardExprs(loadDashboard(t)), string(rules)) {
		for _, n := range nameRE.FindAllString(text, -1) {
			named[n] = true
		}
	}
	exported := exposition(t)
	var missing []string
	for n := range named {
		if !exported[n] {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("named but not exported by monitor: %v", missing)
	}
	if len(named) < 10 {
		t.Fatalf("only %d metrics named: %v", len(named), named)
	}
}

// exposition scrapes monitor's handler fed with one worker of each kind
// of sample and returns the series names it exports (a histogram's
// _bucket, _sum and _count included).
func exposition(t *testing.T) map[string]bool {
	t.Helper()
	agg := monitor.NewAggregator()
	frame := func(k wire.Kind, v any) wire.Message {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return wire.Message{Kind: k, Body: b}
	}
	var ok wire.Latencies
	ok.Buckets[2], ok.SumMicros = 3, 30000
	if err := agg.Handle(0, 100, frame(wire.KindStats, wire.Stats{HTTP: []wire.HTTPStat{{Interface: "/api/sms/send", Success: ok, Failure: ok}}})); err != nil {
		t.Fatal(err)
	}
	if err := agg.Handle(0, 100, frame(wire.KindProperties, wire.Properties{Runtime: &wire.Runtime{HeapUsed: 1, Goroutines: 2, GCPause: 0.001, SchedLatency: 0.001}})); err != nil {
		t.Fatal(err)
	}
	snap := monitor.Snapshot{Exceptions: 1, Workers: []monitor.Worker{{Slot: 0, PID: 100, State: monitor.StateReady,
		RSS: 1 << 20, CPU: 0.1, LastHeartbeat: time.Now(), Restarts: map[string]uint64{monitor.ReasonCrash: 1}}}}
	h := monitor.NewHandler(monitor.MetricsOptions{Source: func(context.Context) (monitor.Snapshot, error) { return snap, nil }, Aggregator: agg})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatalf("exposition: %v", err)
	}
	names := map[string]bool{}
	for name, f := range fams {
		names[name] = true
		switch f.GetType().String() {
		case "HISTOGRAM", "SUMMARY":
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[name+s] = true
			}
		}
	}
	return names
}
