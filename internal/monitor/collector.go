package monitor

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// namespace prefixes every metric of the agent.
const namespace = "node_agent"

// collector produces one group of metrics, as a node_exporter collector
// does: update sends them and returns an error when it could not produce
// them all.
type collector struct {
	name   string
	descs  []*prometheus.Desc
	update func(ctx context.Context, ch chan<- prometheus.Metric) error
}

var (
	collectorDuration = prometheus.NewDesc(namespace+"_collector_duration_seconds",
		"How long a collector of the agent took for this scrape.", []string{"collector"}, nil)
	collectorSuccess = prometheus.NewDesc(namespace+"_collector_success",
		"Whether a collector of the agent succeeded in this scrape (1) or not (0).", []string{"collector"}, nil)
)

// collectorSet runs its collectors in parallel on each scrape, each bounded
// by timeout, and reports how long each took and whether it succeeded.
type collectorSet struct {
	list    []collector
	timeout time.Duration
}

func (c *collectorSet) Describe(ch chan<- *prometheus.Desc) {
	ch <- collectorDuration
	ch <- collectorSuccess
	for _, col := range c.list {
		for _, d := range col.descs {
			ch <- d
		}
	}
}

func (c *collectorSet) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, col := range c.list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			err := col.update(ctx, ch)
			ok := 1.0
			if err != nil {
				ok = 0
			}
			ch <- prometheus.MustNewConstMetric(collectorDuration, prometheus.GaugeValue, time.Since(start).Seconds(), col.name)
			ch <- prometheus.MustNewConstMetric(collectorSuccess, prometheus.GaugeValue, ok, col.name)
		}()
	}
	wg.Wait()
}
