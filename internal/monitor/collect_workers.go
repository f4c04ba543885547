package monitor

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	workerStateDesc = prometheus.NewDesc(namespace+"_worker_state",
		"1 for the state the worker of a slot is in, 0 for the others.", []string{"slot", "state"}, nil)
	workerPIDDesc = prometheus.NewDesc(namespace+"_worker_pid",
		"Process id of the worker running in a slot.", []string{"slot"}, nil)
	restartsDesc = prometheus.NewDesc(namespace+"_worker_restarts_total",
		"Restarts of a slot's worker since the agent started, by reason.", []string{"slot", "reason"}, nil)
	exceptionsDesc = prometheus.NewDesc(namespace+"_exceptions_total",
		"Worker exits the agent did not ask for (crashes, kills for heartbeat or memory).", nil, nil)
	reloadsDesc = prometheus.NewDesc(namespace+"_reloads_total",
		"Rolling reloads that ended since the agent started, by result (ok, failed).", []string{"result"}, nil)
	rssDesc = prometheus.NewDesc(namespace+"_worker_rss_bytes",
		"Resident memory of a slot's worker.", []string{"slot"}, nil)
	cpuDesc = prometheus.NewDesc(namespace+"_worker_cpu_ratio",
		"CPU used by a slot's worker over the last sample, in cores (1 = one core busy).", []string{"slot"}, nil)
	heartbeatDesc = prometheus.NewDesc(namespace+"_worker_heartbeat_age_seconds",
		"Time since the last heartbeat of a slot's worker (workers that send heartbeats only).", []string{"slot"}, nil)
	heapDesc = prometheus.NewDesc(namespace+"_worker_heap_used_bytes",
		"Heap objects of a slot's worker, live or not yet swept (Go runtime).", []string{"slot"}, nil)
	goroutinesDesc = prometheus.NewDesc(namespace+"_worker_goroutines",
		"Goroutines of a slot's worker.", []string{"slot"}, nil)
	gcPauseDesc = prometheus.NewDesc(namespace+"_worker_gc_pause_seconds",
		"Longest GC stop-the-world pause of a slot's worker between its last two samples.", []string{"slot"}, nil)
	schedLatencyDesc = prometheus.NewDesc(namespace+"_worker_sched_latency_seconds",
		"99th percentile of the time goroutines of a slot's worker waited to run, between its last two samples.", []string{"slot"}, nil)
)

// workersCollector exports the worker table from the agent's Source and
// the runtime samples the workers sent.
func workersCollector(src Source, agg *Aggregator, now func() time.Time) collector {
	return collector{
		name: "workers",
		descs: []*prometheus.Desc{workerStateDesc, workerPIDDesc, restartsDesc, exceptionsDesc, reloadsDesc, rssDesc, cpuDesc,
			heartbeatDesc, heapDesc, goroutinesDesc, gcPauseDesc, schedLatencyDesc},
		update: func(ctx context.Context, ch chan<- prometheus.Metric) error {
			snap, err := src(ctx)
			if err != nil {
				return err
			}
			t := now()
			gauge := func(d *prometheus.Desc, v float64, labels ...string) {
				ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
			}
			ch <- prometheus.MustNewConstMetric(exceptionsDesc, prometheus.CounterValue, float64(snap.Exceptions))
			for result, n := range snap.Reloads {
				ch <- prometheus.MustNewConstMetric(reloadsDesc, prometheus.CounterValue, float64(n), result)
			}
			runtimes := agg.runtimes()
			for _, w := range snap.Workers {
				slot := strconv.Itoa(w.Slot)
				for _, st := range states {
					gauge(workerStateDesc, boolValue(w.State == st), slot, st)
				}
				restarts := map[string]uint64{}
				for r, n := range w.Restarts {
					restarts[restartReason(r)] += n
				}
				for r, n := range restarts {
					ch <- prometheus.MustNewConstMetric(restartsDesc, prometheus.CounterValue, float64(n), slot, r)
				}
				if w.PID == 0 {
					continue
				}
				gauge(workerPIDDesc, float64(w.PID), slot)
				gauge(rssDesc, float64(w.RSS), slot)
				gauge(cpuDesc, w.CPU, slot)
				if !w.LastHeartbeat.IsZero() {
					gauge(heartbeatDesc, max(t.Sub(w.LastHeartbeat).Seconds(), 0), slot)
				}
				if r, ok := runtimes[w.Slot]; ok && r.pid == w.PID {
					gauge(heapDesc, float64(r.rt.HeapUsed), slot)
					gauge(goroutinesDesc, float64(r.rt.Goroutines), slot)
					gauge(gcPauseDesc, r.rt.GCPause, slot)
					gauge(schedLatencyDesc, r.rt.SchedLatency, slot)
				}
			}
			return nil
		},
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// runtimes returns a copy of the last runtime sample of each slot.
func (a *Aggregator) runtimes() map[int]slotRuntime {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[int]slotRuntime, len(a.slots))
	for k, v := range a.slots {
		out[k] = v
	}
	return out
}
