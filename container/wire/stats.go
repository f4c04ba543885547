package wire

import (
	"time"
	"unicode/utf8"
)

// HTTP statistics (KindStats). A worker aggregates its requests by interface
// name and outcome and sends the counts accumulated since its previous frame.
// Batches are deltas: the agent adds them up, so a restarted worker, which
// starts again from zero, can neither reset nor double-count a total.

// LatencyBuckets is the number of latency buckets of a Latencies: one per
// bound of LatencyBounds, and a last one for requests slower than 3 s.
const LatencyBuckets = 10

// LatencyBounds returns the upper bounds (inclusive) of the latency buckets:
// those of the TARS StatF histogram, 5 ms … 3 s.
func LatencyBounds() [LatencyBuckets - 1]time.Duration {
	return [...]time.Duration{
		5 * time.Millisecond, 10 * time.Millisecond, 50 * time.Millisecond,
		100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
		time.Second, 2 * time.Second, 3 * time.Second,
	}
}

// LatencyBucket returns the bucket of a request that took d: the first bound
// ≥ d, or LatencyBuckets-1 when d is over 3 s.
func LatencyBucket(d time.Duration) int {
	switch {
	case d <= 5*time.Millisecond:
		return 0
	case d <= 10*time.Millisecond:
		return 1
	case d <= 50*time.Millisecond:
		return 2
	case d <= 100*time.Millisecond:
		return 3
	case d <= 200*time.Millisecond:
		return 4
	case d <= 500*time.Millisecond:
		return 5
	case d <= time.Second:
		return 6
	case d <= 2*time.Second:
		return 7
	case d <= 3*time.Second:
		return 8
	}
	return 9
}

// Limits on interface names, so that a REST API whose paths carry ids cannot
// make either end's tables grow without bound.
const (
	// MaxInterfaces bounds the distinct interface names a worker reports,
	// and the agent keeps. Requests beyond it count under OtherInterface.
	MaxInterfaces = 100
	// MaxInterfaceLen bounds the length in bytes of an interface name;
	// longer names count under OtherInterface.
	MaxInterfaceLen = 128
	// OtherInterface is the interface name of requests that got none of
	// their own: past MaxInterfaces, too long, or not valid UTF-8.
	OtherInterface = "(other)"
)

// ValidInterface reports whether name may be an interface name of its own:
// at most MaxInterfaceLen bytes of valid UTF-8.
func ValidInterface(name string) bool {
	return len(name) <= MaxInterfaceLen && utf8.ValidString(name)
}

// Stats is the body of KindStats.
type Stats struct {
	// HTTP holds one entry per interface that had requests since the
	// previous frame.
	HTTP []HTTPStat `json:"http"`
}

// HTTPStat is the requests of one interface: the URL path or route pattern
// when the worker separates paths, "" when it does not.
type HTTPStat struct {
	Interface string `json:"if"`
	// Success and Failure split requests by outcome: a failure is a status
	// at or above the worker's threshold, or a connection that failed.
	Success Latencies `json:"ok"`
	Failure Latencies `json:"err"`
}

// Latencies is a latency histogram of requests.
type Latencies struct {
	// Buckets counts requests by LatencyBucket.
	Buckets [LatencyBuckets]uint64 `json:"b"`
	// SumMicros is the total time of the requests in microseconds.
	SumMicros uint64 `json:"sum"`
	// MinMicros and MaxMicros are the fastest and slowest request, 0 when
	// there was none.
	MinMicros uint64 `json:"min"`
	MaxMicros uint64 `json:"max"`
}

// Count returns the number of requests.
func (l *Latencies) Count() uint64 {
	var n uint64
	for _, b := range l.Buckets {
		n += b
	}
	return n
}

// Add merges o into l: counts and sums add up, the minimum is the smallest
// non-zero one, the maximum the largest.
func (l *Latencies) Add(o *Latencies) {
	for i, b := range o.Buckets {
		l.Buckets[i] += b
	}
	l.SumMicros += o.SumMicros
	if o.MinMicros != 0 && (l.MinMicros == 0 || o.MinMicros < l.MinMicros) {
		l.MinMicros = o.MinMicros
	}
	l.MaxMicros = max(l.MaxMicros, o.MaxMicros)
}

// Properties is the body of KindProperties.
type Properties struct {
	// Props holds the properties reported since the previous frame.
	Props []Property `json:"props,omitempty"`
	// Runtime is a sample of the worker's Go runtime, nil if none.
	Runtime *Runtime `json:"runtime,omitempty"`
}

// Property policies, named as TARS PropertyF names them.
const (
	PolicyMax   = "Max"
	PolicyMin   = "Min"
	PolicyCount = "Count"
	PolicySum   = "Sum"
	PolicyAvg   = "Avg"
	PolicyDistr = "Distr"
)

// Limits on properties, checked by both ends.
const (
	// MaxProperties bounds the distinct property names of a worker, and of
	// the agent.
	MaxProperties = 200
	// MaxPropertyNameLen bounds the length in bytes of a property name.
	MaxPropertyNameLen = 128
	// MaxRanges bounds the ranges of a Distr policy.
	MaxRanges = 64
)

// Property is what one property collected: enough to compute every policy
// exactly after merging the reports of several workers.
type Property struct {
	Name string `json:"name"`
	// Policies are the Policy* names the property reports, in order.
	Policies []string `json:"policies"`
	// Count is the number of values reported, Sum their sum, Min and Max
	// the extremes (0 when Count is 0).
	Count uint64  `json:"count"`
	Sum   float64 `json:"sum"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	// Ranges are the ascending upper bounds (inclusive) of the Distr
	// policy, and Distr the number of values in each, plus a last count
	// for values above the last bound: len(Distr) == len(Ranges)+1.
	Ranges []float64 `json:"ranges,omitempty"`
	Distr  []uint64  `json:"distr,omitempty"`
}

// Add merges o, a report of the same property, into p. It returns false,
// leaving p alone, when their Distr ranges differ.
func (p *Property) Add(o *Property) bool {
	if !sameRanges(p.Ranges, o.Ranges) || len(p.Distr) != len(o.Distr) {
		return false
	}
	if o.Count == 0 {
		return true
	}
	if p.Count == 0 {
		p.Min, p.Max = o.Min, o.Max
	} else {
		p.Min, p.Max = min(p.Min, o.Min), max(p.Max, o.Max)
	}
	p.Count += o.Count
	p.Sum += o.Sum
	for i, n := range o.Distr {
		p.Distr[i] += n
	}
	return true
}

func sameRanges(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// RuntimeRefreshFlushes is how many monitor flush intervals an idle worker
// lets pass between two KindProperties frames. A worker sends the frame,
// with a runtime sample, at a flush that has properties to report or after
// a GC or a change in its goroutines, and at least every
// RuntimeRefreshFlushes flushes: the agent takes a worker's last sample as
// current until it is RuntimeStaleFlushes intervals old.
const (
	RuntimeRefreshFlushes = 30
	RuntimeStaleFlushes   = 3 * RuntimeRefreshFlushes
)

// Runtime is a sample of a worker's Go runtime (runtime/metrics).
type Runtime struct {
	// HeapUsed is the memory of heap objects, live or not yet swept.
	HeapUsed uint64 `json:"heap_used"`
	// HeapTotal is the heap memory the runtime holds from the OS.
	HeapTotal uint64 `json:"heap_total"`
	// Goroutines is the number of live goroutines.
	Goroutines uint64 `json:"goroutines"`
	// GCPause is the longest stop-the-world GC pause since the previous
	// sample, in seconds (0 without a GC).
	GCPause float64 `json:"gc_pause"`
	// SchedLatency is the 99th percentile of the time goroutines waited
	// to run since the previous sample, in seconds.
	SchedLatency float64 `json:"sched_latency"`
}
