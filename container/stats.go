package container

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
)

// MonitorOptions configure the worker's statistics: HTTP stats from
// MonitorHTTP, properties and Go runtime samples. Under an agent they come
// from the environment the agent sets (--tars-monitor*, --metrics-address).
// The zero value is monitoring off.
type MonitorOptions struct {
	// Enabled collects statistics and sends them to the agent. Off, the
	// middleware and the properties cost nothing and send nothing.
	// Standalone workers never send anything.
	Enabled bool
	// HTTPThreshold is the status from which a request counts as failed;
	// 0 counts only failed connections and handler panics as failures.
	HTTPThreshold int
	// Seppath reports each request under its route pattern or URL path;
	// off, every request counts under the interface "".
	Seppath bool
	// Flush is the interval at which statistics go to the agent; 0 means
	// wire.DefaultMonitorFlush milliseconds.
	Flush time.Duration
}

// monitor holds the statistics of one worker.
type monitor struct {
	opts    MonitorOptions
	on      bool      // enabled and connected to an agent
	epoch   time.Time // request latencies are read as durations since it
	http    *httpTable
	writers sync.Pool // *statusWriter
	props   propertySet

	flushMu sync.Mutex // one flush at a time: the runtime sampler is not shared
	runtime runtimeSampler
	quiet   int // flushes since the last properties frame
}

func newMonitor(opts MonitorOptions, connected bool) *monitor {
	if opts.Flush <= 0 {
		opts.Flush = wire.DefaultMonitorFlush * time.Millisecond
	}
	m := &monitor{opts: opts, on: opts.Enabled && connected, epoch: time.Now(), http: newHTTPTable()}
	m.writers.New = func() any { return new(statusWriter) }
	m.props.byName = map[string]*Property{}
	return m
}

// monitorLoop sends statistics every flush interval until the worker closes.
func (w *Worker) monitorLoop() {
	defer w.wg.Done()
	t := time.NewTicker(w.monitor.opts.Flush)
	defer t.Stop()
	for {
		select {
		case <-w.closed:
			return
		case <-t.C:
			w.flushMonitor()
		}
	}
}

// flushMonitor sends what was collected since the previous flush: the HTTP
// stats when there were requests, and the properties frame, with a runtime
// sample, when there were properties or the runtime moved (a GC ran, the
// goroutines changed) or wire.RuntimeRefreshFlushes flushes passed. An idle
// worker thus sends one small frame every RuntimeRefreshFlushes intervals
// instead of one each: each frame wakes the agent, and with hundreds of
// workers the wake-ups were its whole idle CPU. Send errors mean the agent
// is gone, which receive handles.
func (w *Worker) flushMonitor() {
	m := w.monitor
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	rows := m.http.take()
	if len(rows) > 0 {
		w.send(wire.KindStats, wire.Stats{HTTP: rows})
	}
	props := m.props.take()
	m.quiet++
	if len(rows) == 0 && len(props) == 0 && m.quiet < wire.RuntimeRefreshFlushes && !m.runtime.moved() {
		return
	}
	m.quiet = 0
	rt := m.runtime.sample()
	w.send(wire.KindProperties, wire.Properties{Props: props, Runtime: &rt})
}

// monitorFromEnv reads the monitoring variables the agent sets.
func monitorFromEnv() (MonitorOptions, error) {
	o := MonitorOptions{
		HTTPThreshold: wire.DefaultHTTPThreshold,
		Seppath:       true,
		Flush:         wire.DefaultMonitorFlush * time.Millisecond,
	}
	for _, name := range wire.MonitorEnv() {
		defer os.Unsetenv(name)
	}
	var err error
	if o.Enabled, err = envFlag(wire.EnvMonitor, false); err != nil {
		return o, err
	}
	if o.Seppath, err = envFlag(wire.EnvHTTPSeppath, true); err != nil {
		return o, err
	}
	if v, ok := os.LookupEnv(wire.EnvHTTPThreshold); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return o, fmt.Errorf("container: %s=%q is not an HTTP status (0 for off)", wire.EnvHTTPThreshold, v)
		}
		o.HTTPThreshold = n
	}
	if v, ok := os.LookupEnv(wire.EnvMonitorFlush); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return o, fmt.Errorf("container: %s=%q is not a positive number of milliseconds", wire.EnvMonitorFlush, v)
		}
		o.Flush = time.Duration(n) * time.Millisecond
	}
	return o, nil
}

// envFlag reads a "1"/"0" variable; absent or empty gives def.
func envFlag(name string, def bool) (bool, error) {
	switch v := os.Getenv(name); v {
	case "":
		return def, nil
	case "1":
		return true, nil
	case "0":
		return false, nil
	default:
		return def, fmt.Errorf("container: %s=%q: want 1 or 0", name, v)
	}
}
