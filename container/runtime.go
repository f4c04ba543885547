package container

import (
	"math"
	"runtime/metrics"

	"github.com/nodeagent/node-agent/container/wire"
)

// The runtime/metrics the worker samples for the agent's usage report.
const (
	metricHeapObjects = "/memory/classes/heap/objects:bytes"
	metricHeapUnused  = "/memory/classes/heap/unused:bytes"
	metricHeapFree    = "/memory/classes/heap/free:bytes"
	metricGoroutines  = "/sched/goroutines:goroutines"
	metricGCPauses    = "/sched/pauses/total/gc:seconds"
	metricSchedLat    = "/sched/latencies:seconds"
	metricGCCycles    = "/gc/cycles/total:gc-cycles"
)

// runtimeSampler reads the Go runtime's usage. Its histograms are
// cumulative, so it keeps the previous counts to report what happened
// between two samples. Not safe for concurrent use.
type runtimeSampler struct {
	samples    []metrics.Sample
	prevPauses []uint64
	prevSched  []uint64

	// The cheap readings of moved, and their values at the last sample.
	probe                      []metrics.Sample
	lastGCCycles, lastRoutines uint64
}

// moved reports whether a GC ran or the number of goroutines changed since
// the last sample: the signs of activity that are cheap to read (two
// counters, no histogram).
func (s *runtimeSampler) moved() bool {
	if s.probe == nil {
		s.probe = []metrics.Sample{{Name: metricGCCycles}, {Name: metricGoroutines}}
		return true // no sample yet
	}
	metrics.Read(s.probe)
	return uint64Value(s.probe[0].Value) != s.lastGCCycles || uint64Value(s.probe[1].Value) != s.lastRoutines
}

// sample reads the runtime metrics now. A metric this Go version does not
// have reads as 0.
func (s *runtimeSampler) sample() wire.Runtime {
	if s.samples == nil {
		for _, name := range []string{metricHeapObjects, metricHeapUnused, metricHeapFree, metricGoroutines, metricGCPauses, metricSchedLat, metricGCCycles} {
			s.samples = append(s.samples, metrics.Sample{Name: name})
		}
	}
	metrics.Read(s.samples)
	var rt wire.Runtime
	for _, smp := range s.samples {
		switch smp.Name {
		case metricHeapObjects:
			rt.HeapUsed = uint64Value(smp.Value)
			rt.HeapTotal += rt.HeapUsed
		case metricHeapUnused, metricHeapFree:
			rt.HeapTotal += uint64Value(smp.Value)
		case metricGoroutines:
			rt.Goroutines = uint64Value(smp.Value)
			s.lastRoutines = rt.Goroutines
		case metricGCCycles:
			s.lastGCCycles = uint64Value(smp.Value)
		case metricGCPauses:
			if h := histogram(smp.Value); h != nil {
				rt.GCPause = quantile(h, &s.prevPauses, 1)
			}
		case metricSchedLat:
			if h := histogram(smp.Value); h != nil {
				rt.SchedLatency = quantile(h, &s.prevSched, 0.99)
			}
		}
	}
	return rt
}

func uint64Value(v metrics.Value) uint64 {
	if v.Kind() == metrics.KindUint64 {
		return v.Uint64()
	}
	return 0
}

func histogram(v metrics.Value) *metrics.Float64Histogram {
	if v.Kind() == metrics.KindFloat64Histogram {
		return v.Float64Histogram()
	}
	return nil
}

// quantile returns the q-quantile (0 < q ≤ 1) of what the cumulative
// histogram h gained since the counts in *prev, and stores h's counts there.
// A value is reported as the upper bound of its bucket (the lower one for
// the last, unbounded bucket); 0 when nothing happened.
func quantile(h *metrics.Float64Histogram, prev *[]uint64, q float64) float64 {
	if len(*prev) != len(h.Counts) {
		*prev = make([]uint64, len(h.Counts))
	}
	var total uint64
	for i, c := range h.Counts {
		total += c - (*prev)[i]
	}
	var v float64
	if total > 0 {
		rank := uint64(q*float64(total) + 0.5)
		rank = min(max(rank, 1), total)
		var seen uint64
		for i, c := range h.Counts {
			if seen += c - (*prev)[i]; seen >= rank {
				v = bucketValue(h.Buckets, i)
				break
			}
		}
	}
	copy(*prev, h.Counts)
	return v
}

// bucketValue is the upper bound of bucket i, or its lower bound when the
// upper one is infinite.
func bucketValue(bounds []float64, i int) float64 {
	if up := bounds[i+1]; !math.IsInf(up, 1) {
		return up
	}
	return max(bounds[i], 0)
}
