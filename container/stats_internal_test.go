package container

import (
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
)

func TestMonitorFromEnv(t *testing.T) {
	t.Setenv(wire.EnvMonitor, "1")
	t.Setenv(wire.EnvMonitorFlush, "250")
	t.Setenv(wire.EnvHTTPThreshold, "500")
	t.Setenv(wire.EnvHTTPSeppath, "0")
	o, err := monitorFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	want := MonitorOptions{Enabled: true, HTTPThreshold: 500, Seppath: false, Flush: 250 * time.Millisecond}
	if o != want {
		t.Fatalf("got %+v, want %+v", o, want)
	}
	for _, name := range wire.MonitorEnv() {
		if _, ok := os.LookupEnv(name); ok {
			t.Errorf("%s still set: workers' children would inherit it", name)
		}
	}
}

func TestMonitorFromEnvDefaults(t *testing.T) {
	for _, name := range wire.MonitorEnv() {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	o, err := monitorFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	want := MonitorOptions{Enabled: false, HTTPThreshold: 400, Seppath: true, Flush: time.Second}
	if o != want {
		t.Fatalf("got %+v, want %+v", o, want)
	}
}

func TestMonitorFromEnvErrors(t *testing.T) {
	for name, value := range map[string]string{
		wire.EnvMonitor:       "yes",
		wire.EnvMonitorFlush:  "0",
		wire.EnvHTTPThreshold: "-1",
		wire.EnvHTTPSeppath:   "on",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			if _, err := monitorFromEnv(); err == nil {
				t.Fatalf("%s=%s accepted", name, value)
			}
		})
	}
}

func TestQuantileOfHistogramDeltas(t *testing.T) {
	// Buckets (-Inf, 1ms], (1ms, 10ms], (10ms, 100ms], (100ms, +Inf).
	h := &metrics.Float64Histogram{
		Buckets: []float64{math.Inf(-1), 0.001, 0.01, 0.1, math.Inf(1)},
		Counts:  []uint64{0, 90, 9, 0},
	}
	var prev []uint64
	if got := quantile(h, &prev, 1); got != 0.1 {
		t.Fatalf("max of the first sample: %v, want 0.1 (its bucket's upper bound)", got)
	}
	h.Counts = []uint64{0, 190, 9, 0} // 100 more, all in (1ms, 10ms]
	if got := quantile(h, &prev, 0.99); got != 0.01 {
		t.Fatalf("p99 of the delta: %v, want 0.01", got)
	}
	if got := quantile(h, &prev, 1); got != 0 {
		t.Fatalf("no new observations: %v, want 0", got)
	}
	h.Counts = []uint64{0, 190, 9, 1} // one in the unbounded bucket
	if got := quantile(h, &prev, 1); got != 0.1 {
		t.Fatalf("unbounded bucket: %v, want its lower bound 0.1", got)
	}
}

func TestLatencyBucketMatchesBounds(t *testing.T) {
	bounds := wire.LatencyBounds()
	for i, b := range bounds {
		if got := wire.LatencyBucket(b); got != i {
			t.Errorf("LatencyBucket(%v) = %d, want %d", b, got, i)
		}
		if got := wire.LatencyBucket(b + time.Microsecond); got != i+1 {
			t.Errorf("LatencyBucket(%v+1µs) = %d, want %d", b, got, i+1)
		}
	}
}

// An idle worker sends a properties frame only every
// wire.RuntimeRefreshFlushes flushes; a property reported, or the runtime
// moving, makes the next flush send one.
func TestIdleWorkerFlushesOnlyARefresh(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // no GC may count as activity
	conn, theirs, err := wire.Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	frames := make(chan wire.Kind, 100)
	go func() {
		for {
			m, err := conn.Receive()
			if err != nil {
				close(frames)
				return
			}
			frames <- m.Kind
		}
	}()
	w, err := OpenWith(Options{Channel: theirs, Monitor: MonitorOptions{Enabled: true, Flush: time.Hour}, Orphaned: func() {}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.Property("q", Max)
	if err != nil {
		t.Fatal(err)
	}
	sent := func(flushes int) int {
		for range flushes {
			w.flushMonitor()
		}
		// The channel keeps order: the frames of the flushes come before
		// this heartbeat.
		if err := w.send(wire.KindHeartbeat, nil); err != nil {
			t.Fatal(err)
		}
		n := 0
		for k := range frames {
			switch {
			case k == wire.KindHeartbeat:
				return n
			case k.IsMonitoring():
				n++
			}
		}
		t.Fatal("the channel closed")
		return n
	}
	sent(1) // the first flush always carries a sample
	if n := sent(wire.RuntimeRefreshFlushes - 1); n != 0 {
		t.Errorf("an idle worker sent %d frames in %d flushes, want 0", n, wire.RuntimeRefreshFlushes-1)
	}
	if n := sent(1); n != 1 {
		t.Errorf("the refresh flush sent %d frames, want 1", n)
	}
	p.Report(1)
	if n := sent(1); n != 1 {
		t.Errorf("a flush with a property reported sent %d frames, want 1", n)
	}
	w.Close()
	for range frames { // the last flush on Close
	}
}
