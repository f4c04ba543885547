package container

import (
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
)

// httpTable aggregates requests by interface name. Recording is lock-free
// and allocation-free once a name is known: the rows live in a map that is
// replaced, never changed, so readers load it with one atomic read; a new
// name copies the map under a mutex. At most wire.MaxInterfaces names get a
// row; the rest share the row of wire.OtherInterface.
type httpTable struct {
	rows  atomic.Pointer[map[string]*httpRow]
	mu    sync.Mutex // serialises inserts
	other *httpRow
}

type httpRow struct {
	name          string
	success, fail latencyCounters
}

func newHTTPTable() *httpTable {
	t := &httpTable{other: newHTTPRow(wire.OtherInterface)}
	empty := map[string]*httpRow{}
	t.rows.Store(&empty)
	return t
}

func newHTTPRow(name string) *httpRow {
	r := &httpRow{name: name}
	r.success.reset()
	r.fail.reset()
	return r
}

// row returns the row of name, creating it if the table has room.
func (t *httpTable) row(name string) *httpRow {
	if r, ok := (*t.rows.Load())[name]; ok {
		return r
	}
	return t.insert(name)
}

func (t *httpTable) insert(name string) *httpRow {
	if !wire.ValidInterface(name) {
		return t.other
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.rows.Load()
	if r, ok := old[name]; ok {
		return r
	}
	if len(old) >= wire.MaxInterfaces {
		return t.other
	}
	rows := make(map[string]*httpRow, len(old)+1)
	for k, v := range old {
		rows[k] = v
	}
	// The name may point into a large request buffer: keep a copy.
	r := newHTTPRow(strings.Clone(name))
	rows[r.name] = r
	t.rows.Store(&rows)
	return r
}

// observe records one request of name that took d.
func (t *httpTable) observe(name string, d time.Duration, failed bool) {
	r := t.row(name)
	if failed {
		r.fail.observe(d)
	} else {
		r.success.observe(d)
	}
}

// take returns what was recorded since the previous take, one entry per
// row that saw requests, and starts afresh. Requests recorded while take
// runs land in this batch or the next, never in both.
func (t *httpTable) take() []wire.HTTPStat {
	var out []wire.HTTPStat
	add := func(r *httpRow) {
		s := wire.HTTPStat{Interface: r.name, Success: r.success.take(), Failure: r.fail.take()}
		if s.Success.Count()+s.Failure.Count() > 0 {
			out = append(out, s)
		}
	}
	for _, r := range *t.rows.Load() {
		add(r)
	}
	add(t.other)
	return out
}

// latencyCounters is a wire.Latencies built with atomic counters.
type latencyCounters struct {
	buckets [wire.LatencyBuckets]atomic.Uint64
	sum     atomic.Uint64
	min     atomic.Uint64 // math.MaxUint64 when empty
	max     atomic.Uint64
}

func (c *latencyCounters) reset() { c.min.Store(math.MaxUint64) }

func (c *latencyCounters) observe(d time.Duration) {
	us := uint64(max(d.Microseconds(), 1)) // 0 means "none" on the wire
	c.buckets[wire.LatencyBucket(d)].Add(1)
	c.sum.Add(us)
	for m := c.max.Load(); us > m && !c.max.CompareAndSwap(m, us); m = c.max.Load() {
	}
	for m := c.min.Load(); us < m && !c.min.CompareAndSwap(m, us); m = c.min.Load() {
	}
}

// take swaps the counters for zero. The minimum and maximum of a request
// recorded during the swap may be attributed to the neighbouring batch.
func (c *latencyCounters) take() wire.Latencies {
	var l wire.Latencies
	for i := range c.buckets {
		l.Buckets[i] = c.buckets[i].Swap(0)
	}
	l.SumMicros = c.sum.Swap(0)
	l.MaxMicros = c.max.Swap(0)
	if m := c.min.Swap(math.MaxUint64); m != math.MaxUint64 {
		l.MinMicros = m
	}
	return l
}
