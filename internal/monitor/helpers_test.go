package monitor

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/nodeagent/node-agent/container/wire"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// families parses Prometheus text exposition.
type families map[string]*dto.MetricFamily

func parseMetrics(t testing.TB, text string) families {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, text)
	}
	return fams
}

// scrape gets /metrics from h and parses it.
func scrape(t testing.TB, h http.Handler) families {
	t.Helper()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept", "text/plain")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body.String())
	}
	return parseMetrics(t, rec.Body.String())
}

// series finds the metric of family name whose labels include want.
func (f families) series(name string, want map[string]string) *dto.Metric {
	fam, ok := f[name]
	if !ok {
		return nil
	}
next:
	for _, m := range fam.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

// value returns the value of a counter or gauge series, the sample count
// of a histogram or summary, and -1 when the series does not exist.
func (f families) value(name string, labels map[string]string) float64 {
	m := f.series(name, labels)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	case m.Summary != nil:
		return float64(m.Summary.GetSampleCount())
	}
	return m.Untyped.GetValue()
}

// labelValues lists the values of label in family name, sorted.
func (f families) labelValues(name, label string) []string {
	var out []string
	if fam, ok := f[name]; ok {
		for _, m := range fam.Metric {
			for _, l := range m.Label {
				if l.GetName() == label {
					out = append(out, l.GetValue())
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// frame makes a wire message with body v, as a worker sends it.
func frame(t testing.TB, k wire.Kind, v any) wire.Message {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return wire.Message{Kind: k, Body: b}
}

// requests is a Latencies of n requests in bucket b taking us each.
func requests(n uint64, b int, us uint64) wire.Latencies {
	var l wire.Latencies
	l.Buckets[b] = n
	l.SumMicros = n * us
	if n > 0 {
		l.MinMicros, l.MaxMicros = us, us
	}
	return l
}

// staticSource answers snap, or err.
func staticSource(snap Snapshot, err error) Source {
	return func(ctx context.Context) (Snapshot, error) {
		if err != nil {
			return Snapshot{}, err
		}
		return snap, ctx.Err()
	}
}
