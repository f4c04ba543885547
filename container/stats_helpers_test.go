package container_test

import (
	"sync"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/container"
	"github.com/nodeagent/node-agent/container/wire"
)

// statsAgent is a fake agent that keeps the statistics a worker sends,
// merged as the real agent merges them.
type statsAgent struct {
	t    *testing.T
	conn *wire.Conn
	w    *container.Worker
	done chan struct{}

	mu       sync.Mutex
	http     map[string]*wire.HTTPStat
	props    map[string]*wire.Property
	runtime  []wire.Runtime
	statsFrm int
	propsFrm int
	propsCh  chan struct{} // a token per properties frame
}

func newStatsAgent(t *testing.T, opts container.MonitorOptions) *statsAgent {
	t.Helper()
	conn, theirs, err := wire.Pair()
	if err != nil {
		t.Fatal(err)
	}
	a := &statsAgent{t: t, conn: conn, done: make(chan struct{}),
		http: map[string]*wire.HTTPStat{}, props: map[string]*wire.Property{}, propsCh: make(chan struct{}, 1000)}
	go a.serve()
	w, err := container.OpenWith(container.Options{Channel: theirs, Monitor: opts, Orphaned: func() {}})
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	a.w = w
	t.Cleanup(func() { a.finish() })
	return a
}

func (a *statsAgent) serve() {
	defer close(a.done)
	for {
		m, err := a.conn.Receive()
		if err != nil {
			return
		}
		a.mu.Lock()
		switch m.Kind {
		case wire.KindStats:
			var s wire.Stats
			if err := m.Decode(&s); err != nil {
				a.t.Errorf("stats frame: %v", err)
			}
			a.statsFrm++
			for _, h := range s.HTTP {
				cur, ok := a.http[h.Interface]
				if !ok {
					cur = &wire.HTTPStat{Interface: h.Interface}
					a.http[h.Interface] = cur
				}
				cur.Success.Add(&h.Success)
				cur.Failure.Add(&h.Failure)
			}
		case wire.KindProperties:
			var p wire.Properties
			if err := m.Decode(&p); err != nil {
				a.t.Errorf("properties frame: %v", err)
			}
			a.propsFrm++
			for _, v := range p.Props {
				cur, ok := a.props[v.Name]
				if !ok {
					c := v
					c.Count, c.Sum, c.Min, c.Max = 0, 0, 0, 0
					c.Distr = make([]uint64, len(v.Distr))
					cur = &c
					a.props[v.Name] = cur
				}
				if !cur.Add(&v) {
					a.t.Errorf("property %s: ranges changed", v.Name)
				}
			}
			if p.Runtime != nil {
				a.runtime = append(a.runtime, *p.Runtime)
			}
			a.propsCh <- struct{}{}
		}
		a.mu.Unlock()
		for _, f := range m.Files {
			f.Close()
		}
	}
}

// finish closes the worker, which sends its last statistics, and waits
// until the agent has read everything.
func (a *statsAgent) finish() {
	a.w.Close()
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		a.t.Fatal("the worker's channel did not end after Close")
	}
	a.conn.Close()
}

// waitProps waits for n more properties frames.
func (a *statsAgent) waitProps(n int) {
	a.t.Helper()
	for range n {
		select {
		case <-a.propsCh:
		case <-time.After(10 * time.Second):
			a.t.Fatal("no properties frame within 10 s")
		}
	}
}

// counts returns success and failure counts by interface.
func (a *statsAgent) counts() map[string][2]uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string][2]uint64{}
	for k, v := range a.http {
		out[k] = [2]uint64{v.Success.Count(), v.Failure.Count()}
	}
	return out
}

// silentWorker is a monitored worker whose agent reads and drops
// everything: for benchmarks.
func silentWorker(b *testing.B) *container.Worker {
	conn, theirs, err := wire.Pair()
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		for {
			if _, err := conn.Receive(); err != nil {
				return
			}
		}
	}()
	w, err := container.OpenWith(container.Options{Channel: theirs, Monitor: monitorOn, Orphaned: func() {}})
	if err != nil {
		conn.Close()
		b.Fatal(err)
	}
	b.Cleanup(func() { w.Close(); conn.Close() })
	return w
}
