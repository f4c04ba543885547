package monitor

import (
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// carriedFamily is a Go runtime metric family the old program exported:
// its counters' values, or its summaries' and histograms' counts and sums
// (and histogram buckets), by label set. A new program's runtime starts
// them from zero; the agent's process did not start again, so the new
// program adds them.
type carriedFamily struct {
	Name    string          `json:"name"`
	Metrics []carriedMetric `json:"metrics"`
}

type carriedMetric struct {
	Labels  string             `json:"labels,omitempty"` // labelKey
	Value   float64            `json:"value,omitempty"`  // a counter's
	Count   uint64             `json:"count,omitempty"`  // a summary's, a histogram's
	Sum     float64            `json:"sum,omitempty"`
	Buckets map[string]uint64  `json:"buckets,omitempty"` // by upper bound, cumulative
	bounds  map[float64]uint64 // Buckets, parsed
}

// carriesOver says whether the family name is one the new program adds
// the old one's values to: the Go runtime's (go_*). The agent's own
// counters are carried as state (Carried), and process_* are read from
// /proc for the process, which an exec does not restart.
func carriesOver(name string) bool { return strings.HasPrefix(name, "go_") }

// carryGatherer gathers g and adds the carried values to its families;
// goOnly gathers the families to carry (carryGo).
type carryGatherer struct {
	g, goOnly prometheus.Gatherer
	carried   map[string]map[string]carriedMetric // family → labels → values
}

func newCarryGatherer(g, goOnly prometheus.Gatherer, c *Carried) *carryGatherer {
	cg := &carryGatherer{g: g, goOnly: goOnly, carried: map[string]map[string]carriedMetric{}}
	if c == nil {
		return cg
	}
	for _, f := range c.Go {
		byLabels := map[string]carriedMetric{}
		for _, m := range f.Metrics {
			m.bounds = map[float64]uint64{}
			for b, n := range m.Buckets {
				if ub, err := strconv.ParseFloat(b, 64); err == nil {
					m.bounds[ub] = n
				}
			}
			byLabels[m.Labels] = m
		}
		cg.carried[f.Name] = byLabels
	}
	return cg
}

// Gather implements prometheus.Gatherer.
func (cg *carryGatherer) Gather() ([]*dto.MetricFamily, error) {
	return cg.add(cg.g.Gather())
}

// add adds the carried values to mfs.
func (cg *carryGatherer) add(mfs []*dto.MetricFamily, err error) ([]*dto.MetricFamily, error) {
	for _, mf := range mfs {
		byLabels, ok := cg.carried[mf.GetName()]
		if !ok {
			continue
		}
		for _, m := range mf.Metric {
			if c, ok := byLabels[labelKey(m)]; ok {
				addCarried(m, c)
			}
		}
	}
	return mfs, err
}

func addCarried(m *dto.Metric, c carriedMetric) {
	switch {
	case m.Counter != nil:
		m.Counter.Value = ptr(m.Counter.GetValue() + c.Value)
	case m.Summary != nil:
		m.Summary.SampleCount = ptr(m.Summary.GetSampleCount() + c.Count)
		m.Summary.SampleSum = ptr(m.Summary.GetSampleSum() + c.Sum)
	case m.Histogram != nil:
		m.Histogram.SampleCount = ptr(m.Histogram.GetSampleCount() + c.Count)
		m.Histogram.SampleSum = ptr(m.Histogram.GetSampleSum() + c.Sum)
		for _, b := range m.Histogram.Bucket {
			b.CumulativeCount = ptr(b.GetCumulativeCount() + c.bounds[b.GetUpperBound()])
		}
	}
}

// carryGo returns the Go runtime's counters as exported now (with what
// was carried to this program).
func (cg *carryGatherer) carryGo() []carriedFamily {
	mfs, _ := cg.add(cg.goOnly.Gather())
	var out []carriedFamily
	for _, mf := range mfs {
		if !carriesOver(mf.GetName()) {
			continue
		}
		f := carriedFamily{Name: mf.GetName()}
		for _, m := range mf.Metric {
			c := carriedMetric{Labels: labelKey(m)}
			switch {
			case m.Counter != nil:
				c.Value = m.Counter.GetValue()
			case m.Summary != nil:
				c.Count, c.Sum = m.Summary.GetSampleCount(), m.Summary.GetSampleSum()
			case m.Histogram != nil:
				c.Count, c.Sum = m.Histogram.GetSampleCount(), m.Histogram.GetSampleSum()
				c.Buckets = map[string]uint64{}
				for _, b := range m.Histogram.Bucket {
					c.Buckets[strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)] = b.GetCumulativeCount()
				}
			default:
				continue // a gauge: the new runtime's own
			}
			f.Metrics = append(f.Metrics, c)
		}
		if len(f.Metrics) > 0 {
			out = append(out, f)
		}
	}
	return out
}

// labelKey identifies a metric of a family by its labels.
func labelKey(m *dto.Metric) string {
	pairs := make([]string, 0, len(m.Label))
	for _, l := range m.Label {
		pairs = append(pairs, l.GetName()+"="+l.GetValue())
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ",")
}

func ptr[T any](v T) *T { return &v }
