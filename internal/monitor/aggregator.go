package monitor

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nodeagent/node-agent/container/wire"
)

// ErrBatch is wrapped by the errors of Aggregator.Handle for a batch it
// could not read.
var ErrBatch = errors.New("monitor: unreadable statistics batch")

// Aggregator adds up the statistics batches of all workers. It keeps two
// views: totals since the agent started, which Prometheus exports, and the
// current report interval, which the TARS reporter takes and resets. Batches
// are deltas, so a worker that restarts adds to the totals and never resets
// or repeats them.
//
// Its methods are safe for concurrent use: the agent's run loop feeds it
// (Handle, ObserveUsage) while scrapes and the reporter read it.
type Aggregator struct {
	mu       sync.Mutex
	http     httpSet             // since start
	props    propSet             // since start
	slots    map[int]slotRuntime // last runtime sample by slot
	interval interval            // since the last takeInterval
	rejected uint64              // batches and entries refused
	now      func() time.Time
}

// slotRuntime is the last runtime sample of a slot and the process it
// came from, so a scrape exports it only for the process still running.
type slotRuntime struct {
	pid int
	rt  wire.Runtime
	at  time.Time // when it arrived
	// counted tells whether the current interval observed it.
	counted bool
}

// runtimeStale is the age at which a slot's last runtime sample no longer
// stands for its worker: a live worker refreshes it at least every
// wire.RuntimeRefreshFlushes flushes, even when idle.
const runtimeStale = wire.RuntimeStaleFlushes * wire.DefaultMonitorFlush * time.Millisecond

// NewAggregator returns an empty Aggregator.
func NewAggregator() *Aggregator {
	a := &Aggregator{
		http:  httpSet{},
		props: propSet{},
		slots: map[int]slotRuntime{},
		now:   time.Now,
	}
	a.interval.reset()
	return a
}

// Handle adds a monitoring frame (wire.Kind.IsMonitoring) that the worker
// pid in slot sent. Frames of other kinds are ignored. An unreadable body
// is counted as rejected and returned as an error wrapping ErrBatch; the
// agent may log it and go on.
func (a *Aggregator) Handle(slot, pid int, m wire.Message) error {
	switch m.Kind {
	case wire.KindStats:
		var s wire.Stats
		if err := m.Decode(&s); err != nil {
			a.reject(1)
			return fmt.Errorf("%w from worker %d (pid %d): %w", ErrBatch, slot, pid, err)
		}
		a.addStats(&s)
	case wire.KindProperties:
		var p wire.Properties
		if err := m.Decode(&p); err != nil {
			a.reject(1)
			return fmt.Errorf("%w from worker %d (pid %d): %w", ErrBatch, slot, pid, err)
		}
		a.addProperties(slot, pid, &p)
	}
	return nil
}

func (a *Aggregator) reject(n uint64) {
	a.mu.Lock()
	a.rejected += n
	a.mu.Unlock()
}

func (a *Aggregator) addStats(s *wire.Stats) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range s.HTTP {
		if i > wire.MaxInterfaces { // a worker sends at most that many, plus "(other)"
			a.rejected += uint64(len(s.HTTP) - i)
			break
		}
		h := &s.HTTP[i]
		a.http.add(h)
		a.interval.http.add(h)
	}
}

func (a *Aggregator) addProperties(slot, pid int, p *wire.Properties) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range p.Props {
		v := &p.Props[i]
		if !cleanProperty(v) {
			a.rejected++
			continue
		}
		if !a.props.add(v) {
			a.rejected++
		}
		a.interval.props.add(v)
	}
	if rt := p.Runtime; rt != nil {
		a.slots[slot] = slotRuntime{pid: pid, rt: *rt, at: a.now(), counted: true}
		a.interval.observeRuntime(rt)
	}
}

// ObserveUsage adds a resource sample of the worker pid in slot: its RSS in
// bytes and its CPU use in cores (1 = one core busy). The agent calls it
// each time its sampler measured a worker; the TARS reporter sends the
// interval's Max, Min and Avg as <module>.rss and <module>.cpuUsage.
func (a *Aggregator) ObserveUsage(slot, pid int, rss int64, cpu float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.interval.usage[UsageRSS].observe(float64(rss))
	a.interval.usage[UsageCPU].observe(cpu * 100)
}

// httpSet is HTTP statistics by interface, at most wire.MaxInterfaces
// names plus wire.OtherInterface.
type httpSet map[string]*httpTotals

type httpTotals struct {
	success, failure wire.Latencies
}

func (s httpSet) add(h *wire.HTTPStat) {
	name := h.Interface
	t, ok := s[name]
	if !ok {
		if !wire.ValidInterface(name) || len(s) >= wire.MaxInterfaces {
			name = wire.OtherInterface
		}
		if t, ok = s[name]; !ok {
			t = &httpTotals{}
			s[name] = t
		}
	}
	t.success.Add(&h.Success)
	t.failure.Add(&h.Failure)
}

// propSet is properties by name, at most wire.MaxProperties.
type propSet map[string]*wire.Property

// add merges v, a cleaned report. Reports whose Distr ranges differ from
// the first ones seen for the name keep their counts but lose their
// distribution. It returns false when the set is full.
func (s propSet) add(v *wire.Property) bool {
	cur, ok := s[v.Name]
	if !ok {
		if len(s) >= wire.MaxProperties {
			return false
		}
		c := *v
		c.Policies = append([]string(nil), v.Policies...)
		c.Ranges = append([]float64(nil), v.Ranges...)
		c.Distr = append([]uint64(nil), v.Distr...)
		s[v.Name] = &c
		return true
	}
	if !cur.Add(v) {
		counts := *v
		counts.Ranges, counts.Distr = cur.Ranges, make([]uint64, len(cur.Distr))
		cur.Add(&counts)
	}
	return true
}

// cleanProperty checks a report from a worker and repairs what it can: it
// drops unknown policies and a malformed distribution. It returns false
// for a report to refuse.
func cleanProperty(v *wire.Property) bool {
	if v.Name == "" || len(v.Name) > wire.MaxPropertyNameLen || !utf8.ValidString(v.Name) || v.Count == 0 {
		return false
	}
	okDistr := len(v.Ranges) > 0 && len(v.Ranges) <= wire.MaxRanges && len(v.Distr) == len(v.Ranges)+1
	for i := 1; okDistr && i < len(v.Ranges); i++ {
		okDistr = v.Ranges[i] > v.Ranges[i-1]
	}
	var inDistr uint64
	for _, n := range v.Distr {
		inDistr += n
	}
	okDistr = okDistr && inDistr == v.Count
	if !okDistr {
		v.Ranges, v.Distr = nil, nil
	}
	kept := v.Policies[:0:0]
	for _, p := range v.Policies {
		switch p {
		case wire.PolicyMax, wire.PolicyMin, wire.PolicyCount, wire.PolicySum, wire.PolicyAvg:
		case wire.PolicyDistr:
			if !okDistr {
				continue
			}
		default:
			continue
		}
		if !slices.Contains(kept, p) {
			kept = append(kept, p)
		}
	}
	v.Policies = kept
	return len(kept) > 0
}
