package monitor

import (
	"time"

	"github.com/nodeagent/node-agent/container/wire"
)

// Carried is the statistics an agent upgrading its program in place
// hands to its new program (package agent's hand-over document), so that
// nothing an exporter shows starts again: the totals since the agent
// started (Prometheus counters), the current TARS report interval (rows
// not yet reported, and when it opened), the reporter's call counts, and
// the Go runtime's counters. It is plain JSON.
//
// Take it with Carry once every input is stopped (the workers' channels
// paused, the reporter held), give it to RestoreAggregator,
// TarsOptions.Carried and MetricsOptions.Carried in the new program.
type Carried struct {
	HTTP     map[string]latencyPair   `json:"http,omitempty"`
	Props    map[string]wire.Property `json:"props,omitempty"`
	Rejected uint64                   `json:"rejected,omitempty"`
	Runtimes map[int]runtimeState     `json:"runtimes,omitempty"`
	Interval intervalState            `json:"interval"`
	// Calls are the reporter's calls by servant kind and result.
	Calls []callCount `json:"calls,omitempty"`
	// Go are the Go runtime's counters as the old program last exported
	// them (with what it carried itself): the new program adds them to
	// its own runtime's.
	Go []carriedFamily `json:"go,omitempty"`
}

type latencyPair struct {
	Success wire.Latencies `json:"ok"`
	Failure wire.Latencies `json:"err"`
}

type runtimeState struct {
	PID     int          `json:"pid"`
	Runtime wire.Runtime `json:"rt"`
	At      time.Time    `json:"at"`
	Counted bool         `json:"counted,omitempty"`
}

type intervalState struct {
	// Opened is when the reporter last took an interval (zero without a
	// reporter): the new one reports at Opened + its interval.
	Opened time.Time                `json:"opened"`
	HTTP   map[string]latencyPair   `json:"http,omitempty"`
	Props  map[string]wire.Property `json:"props,omitempty"`
	Usage  map[string]samplesState  `json:"usage,omitempty"`
}

type samplesState struct {
	N   uint64  `json:"n"`
	Sum float64 `json:"sum"`
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

type callCount struct {
	Kind   string `json:"kind"`
	Result string `json:"result"`
	N      uint64 `json:"n"`
}

// Carry returns what agg, rep (nil: no reporter) and srv (nil: no metrics
// endpoint) hold. Their inputs must be stopped: what arrives later is not
// in it. Hold rep first, so no report is on its way.
func Carry(agg *Aggregator, rep *TarsReporter, srv *Server) *Carried {
	c := agg.carry()
	if rep != nil {
		rep.carry(c)
	}
	if srv != nil {
		c.Go = srv.carryGo()
	}
	return c
}

func (a *Aggregator) carry() *Carried {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := &Carried{HTTP: a.http.carry(), Props: a.props.carry(), Rejected: a.rejected,
		Runtimes: map[int]runtimeState{}}
	for slot, r := range a.slots {
		c.Runtimes[slot] = runtimeState{PID: r.pid, Runtime: r.rt, At: r.at, Counted: r.counted}
	}
	c.Interval = intervalState{HTTP: a.interval.http.carry(), Props: a.interval.props.carry(), Usage: map[string]samplesState{}}
	for name, s := range a.interval.usage {
		if s.n > 0 {
			c.Interval.Usage[name] = samplesState{N: s.n, Sum: s.sum, Min: s.min, Max: s.max}
		}
	}
	return c
}

// RestoreAggregator puts the totals, runtime samples and interval of c
// (nil: nothing) into a, a new Aggregator no worker fed yet.
func RestoreAggregator(a *Aggregator, c *Carried) {
	if c == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.http, a.props, a.rejected = restoreHTTP(c.HTTP), restoreProps(c.Props), c.Rejected
	for slot, r := range c.Runtimes {
		a.slots[slot] = slotRuntime{pid: r.PID, rt: r.Runtime, at: r.At, counted: r.Counted}
	}
	a.interval.http, a.interval.props = restoreHTTP(c.Interval.HTTP), restoreProps(c.Interval.Props)
	for name, s := range c.Interval.Usage {
		if cur, ok := a.interval.usage[name]; ok {
			*cur = samples{n: s.N, sum: s.Sum, min: s.Min, max: s.Max}
		}
	}
}

func (s httpSet) carry() map[string]latencyPair {
	out := make(map[string]latencyPair, len(s))
	for name, t := range s {
		out[name] = latencyPair{Success: t.success, Failure: t.failure}
	}
	return out
}

func restoreHTTP(m map[string]latencyPair) httpSet {
	s := make(httpSet, len(m))
	for name, p := range m {
		s[name] = &httpTotals{success: p.Success, failure: p.Failure}
	}
	return s
}

func (s propSet) carry() map[string]wire.Property {
	out := make(map[string]wire.Property, len(s))
	for name, p := range s {
		out[name] = *p
	}
	return out
}

func restoreProps(m map[string]wire.Property) propSet {
	s := make(propSet, len(m))
	for name, p := range m {
		s[name] = &p
	}
	return s
}

// carry adds the reporter's call counts and the opening of its interval
// to c; the reporter must be held (Hold).
func (r *TarsReporter) carry(c *Carried) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, n := range r.calls {
		c.Calls = append(c.Calls, callCount{Kind: k[0], Result: k[1], N: n})
	}
	c.Interval.Opened = r.opened
}

// restore takes over the call counts and the interval's opening of c.
func (r *TarsReporter) restore(c *Carried) {
	if c == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, cc := range c.Calls {
		r.calls[[2]string{cc.Kind, cc.Result}] += cc.N
	}
	if !c.Interval.Opened.IsZero() {
		r.opened = c.Interval.Opened
	}
}
