package monitor

import (
	"context"

	"github.com/nodeagent/node-agent/container/wire"
	"github.com/prometheus/client_golang/prometheus"
)

// Outcome label values of the HTTP metrics.
const (
	OutcomeSuccess = "success"
	OutcomeError   = "error"
)

var (
	httpRequestsDesc = prometheus.NewDesc(namespace+"_http_requests_total",
		"HTTP requests served by the workers, by interface (route pattern or path) and outcome.",
		[]string{"interface", "outcome"}, nil)
	httpDurationDesc = prometheus.NewDesc(namespace+"_http_request_duration_seconds",
		"Latency of the HTTP requests served by the workers, by interface and outcome.",
		[]string{"interface", "outcome"}, nil)
	propertyDesc = prometheus.NewDesc(namespace+"_property",
		"Values reported to a custom property by the workers: their count and sum.",
		[]string{"property"}, nil)
	propertyDistrDesc = prometheus.NewDesc(namespace+"_property_distribution",
		"Distribution of the values of a custom property with a Distr policy, by its ranges.",
		[]string{"property"}, nil)
	rejectedDesc = prometheus.NewDesc(namespace+"_monitor_rejected_total",
		"Statistics batches and properties from workers the agent refused (unreadable, or over the limits).",
		nil, nil)
)

// statsCollector exports the HTTP statistics and properties the workers
// sent, added up since the agent started.
func statsCollector(agg *Aggregator) collector {
	return collector{
		name:  "stats",
		descs: []*prometheus.Desc{httpRequestsDesc, httpDurationDesc, propertyDesc, propertyDistrDesc, rejectedDesc},
		update: func(_ context.Context, ch chan<- prometheus.Metric) error {
			http, props, rejected := agg.totals()
			for name, t := range http {
				for _, o := range []struct {
					outcome string
					l       *wire.Latencies
				}{{OutcomeSuccess, &t.success}, {OutcomeError, &t.failure}} {
					n := o.l.Count()
					ch <- prometheus.MustNewConstMetric(httpRequestsDesc, prometheus.CounterValue, float64(n), name, o.outcome)
					ch <- prometheus.MustNewConstHistogram(httpDurationDesc, n, float64(o.l.SumMicros)/1e6,
						latencyBuckets(o.l), name, o.outcome)
				}
			}
			for name, p := range props {
				ch <- prometheus.MustNewConstSummary(propertyDesc, p.Count, p.Sum, nil, name)
				if len(p.Ranges) > 0 {
					buckets := make(map[float64]uint64, len(p.Ranges))
					var cum uint64
					for i, r := range p.Ranges {
						cum += p.Distr[i]
						buckets[r] = cum
					}
					ch <- prometheus.MustNewConstHistogram(propertyDistrDesc, p.Count, p.Sum, buckets, name)
				}
			}
			ch <- prometheus.MustNewConstMetric(rejectedDesc, prometheus.CounterValue, float64(rejected))
			return nil
		},
	}
}

// latencyBuckets returns the cumulative Prometheus buckets of l, in seconds.
func latencyBuckets(l *wire.Latencies) map[float64]uint64 {
	bounds := wire.LatencyBounds()
	out := make(map[float64]uint64, len(bounds))
	var cum uint64
	for i, b := range bounds {
		cum += l.Buckets[i]
		out[b.Seconds()] = cum
	}
	return out
}

// totals returns a copy of the totals since start.
func (a *Aggregator) totals() (map[string]httpTotals, map[string]wire.Property, uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	http := make(map[string]httpTotals, len(a.http))
	for k, v := range a.http {
		http[k] = *v
	}
	props := make(map[string]wire.Property, len(a.props))
	for k, v := range a.props {
		c := *v
		c.Distr = append([]uint64(nil), v.Distr...)
		props[k] = c
	}
	return http, props, a.rejected
}
