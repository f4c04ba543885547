package monitor

import (
	"math"

	"github.com/nodeagent/node-agent/container/wire"
)

// Usage property names: the TARS property of each is "<module>.<name>",
// reported with Max, Min and Avg over the interval and merged across the
// workers (the Max of rss is the largest worker's).
const (
	UsageRSS          = "rss"          // bytes (agent sampler)
	UsageCPU          = "cpuUsage"     // percent of one core (agent sampler)
	UsageHeapUsed     = "heapUsed"     // bytes of heap objects
	UsageHeapTotal    = "heapTotal"    // bytes of heap held from the OS
	UsageGoroutines   = "goroutines"   // live goroutines
	UsageGCPause      = "gcPause"      // ms, longest GC pause between samples
	UsageSchedLatency = "schedLatency" // ms, p99 of the scheduling delay between samples
)

// usageNames lists the usage properties in report order.
var usageNames = [...]string{UsageRSS, UsageCPU, UsageHeapUsed, UsageHeapTotal, UsageGoroutines, UsageGCPause, UsageSchedLatency}

// interval is what happened since the TARS reporter last took it.
type interval struct {
	http  httpSet
	props propSet
	usage map[string]*samples
}

func (iv *interval) reset() {
	iv.http = httpSet{}
	iv.props = propSet{}
	iv.usage = make(map[string]*samples, len(usageNames))
	for _, n := range usageNames {
		iv.usage[n] = &samples{}
	}
}

func (iv *interval) observeRuntime(rt *wire.Runtime) {
	iv.usage[UsageHeapUsed].observe(float64(rt.HeapUsed))
	iv.usage[UsageHeapTotal].observe(float64(rt.HeapTotal))
	iv.usage[UsageGoroutines].observe(float64(rt.Goroutines))
	iv.usage[UsageGCPause].observe(rt.GCPause * 1000)
	iv.usage[UsageSchedLatency].observe(rt.SchedLatency * 1000)
}

// takeInterval returns the current interval and starts a new one. An idle
// worker sends a runtime sample only every wire.RuntimeRefreshFlushes
// flushes, so an interval may have none from it: its last sample, unless
// stale, stands for the interval, and every live worker counts in each.
func (a *Aggregator) takeInterval() interval {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	for slot, r := range a.slots {
		if !r.counted && now.Sub(r.at) < runtimeStale {
			a.interval.observeRuntime(&r.rt)
		}
		r.counted = false
		a.slots[slot] = r
	}
	iv := a.interval
	a.interval.reset()
	return iv
}

// samples summarises gauge readings: Max, Min and Avg.
type samples struct {
	n             uint64
	sum, min, max float64
}

func (s *samples) observe(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if s.n == 0 {
		s.min, s.max = v, v
	} else {
		s.min, s.max = min(s.min, v), max(s.max, v)
	}
	s.n++
	s.sum += v
}
