package monitor

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
)

var timeNow = func() time.Time { return time.Unix(1_700_000_000, 0) }

func TestWorkerMetrics(t *testing.T) {
	a := NewAggregator()
	a.Handle(0, 100, frame(t, wire.KindProperties, wire.Properties{Runtime: &wire.Runtime{HeapUsed: 4096, Goroutines: 12, GCPause: 0.002, SchedLatency: 0.0005}}))
	a.Handle(1, 90, frame(t, wire.KindProperties, wire.Properties{Runtime: &wire.Runtime{HeapUsed: 1}})) // an old pid of slot 1
	snap := Snapshot{Exceptions: 3, Reloads: map[string]uint64{"ok": 2, "failed": 1}, Workers: []Worker{
		{Slot: 0, PID: 100, State: StateReady, RSS: 5 << 20, CPU: 0.5, LastHeartbeat: timeNow().Add(-1500 * time.Millisecond),
			Restarts: map[string]uint64{ReasonCrash: 2, ReasonKeepalive: 1, "odd reason": 4}},
		{Slot: 1, PID: 101, State: StateStarting},
		{Slot: 2, State: StateStopped, Restarts: map[string]uint64{ReasonMemory: 1}},
	}}
	h := NewHandler(MetricsOptions{Source: staticSource(snap, nil), Aggregator: a, Now: timeNow})
	fams := scrape(t, h)
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"node_agent_exceptions_total", nil, 3},
		{"node_agent_reloads_total", map[string]string{"result": "ok"}, 2},
		{"node_agent_reloads_total", map[string]string{"result": "failed"}, 1},
		{"node_agent_worker_state", map[string]string{"slot": "0", "state": "ready"}, 1},
		{"node_agent_worker_state", map[string]string{"slot": "0", "state": "starting"}, 0},
		{"node_agent_worker_state", map[string]string{"slot": "1", "state": "starting"}, 1},
		{"node_agent_worker_state", map[string]string{"slot": "2", "state": "stopped"}, 1},
		{"node_agent_worker_restarts_total", map[string]string{"slot": "0", "reason": "crash"}, 2},
		{"node_agent_worker_restarts_total", map[string]string{"slot": "0", "reason": "keepalive"}, 1},
		{"node_agent_worker_restarts_total", map[string]string{"slot": "0", "reason": "other"}, 4},
		{"node_agent_worker_restarts_total", map[string]string{"slot": "2", "reason": "memory"}, 1},
		{"node_agent_worker_pid", map[string]string{"slot": "0"}, 100},
		{"node_agent_worker_pid", map[string]string{"slot": "2"}, -1}, // no process
		{"node_agent_worker_rss_bytes", map[string]string{"slot": "0"}, 5 << 20},
		{"node_agent_worker_cpu_ratio", map[string]string{"slot": "0"}, 0.5},
		{"node_agent_worker_heartbeat_age_seconds", map[string]string{"slot": "0"}, 1.5},
		{"node_agent_worker_heartbeat_age_seconds", map[string]string{"slot": "1"}, -1}, // never beat
		{"node_agent_worker_heap_used_bytes", map[string]string{"slot": "0"}, 4096},
		{"node_agent_worker_goroutines", map[string]string{"slot": "0"}, 12},
		{"node_agent_worker_gc_pause_seconds", map[string]string{"slot": "0"}, 0.002},
		{"node_agent_worker_sched_latency_seconds", map[string]string{"slot": "0"}, 0.0005},
		{"node_agent_worker_heap_used_bytes", map[string]string{"slot": "1"}, -1}, // sample of another pid
		{"node_agent_collector_success", map[string]string{"collector": "workers"}, 1},
		{"node_agent_collector_success", map[string]string{"collector": "stats"}, 1},
	}
	for _, c := range checks {
		if got := fams.value(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if fams.series("go_goroutines", nil) == nil || fams.series("process_resident_memory_bytes", nil) == nil {
		t.Error("the agent's own Go and process metrics are missing")
	}
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Code, rec.Body.String()
}

func TestHealthAndReadiness(t *testing.T) {
	ready := Snapshot{Workers: []Worker{{Slot: 0, PID: 1, State: StateReady}, {Slot: 1, PID: 2, State: StateReady}}}
	starting := Snapshot{Workers: []Worker{{Slot: 0, PID: 1, State: StateReady}, {Slot: 1, PID: 2, State: StateStarting}}}
	stopping := ready
	stopping.Stopping = true
	cases := []struct {
		name      string
		src       Source
		health    int
		readiness int
		why       string
	}{
		{"all ready", staticSource(ready, nil), 200, 200, "ready: 2 workers"},
		{"one starting", staticSource(starting, nil), 200, 503, "worker 1 is starting"},
		{"stopping", staticSource(stopping, nil), 200, 503, "the agent is stopping"},
		{"no workers", staticSource(Snapshot{}, nil), 200, 503, "no workers"},
		{"loop gone", staticSource(Snapshot{}, errors.New("agent stopped")), 503, 503, "agent loop not answering"},
		{"loop stuck", func(ctx context.Context) (Snapshot, error) { <-ctx.Done(); return Snapshot{}, ctx.Err() }, 503, 503, "deadline"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := NewHandler(MetricsOptions{Source: c.src, Aggregator: NewAggregator(), CheckTimeout: 50 * time.Millisecond})
			if code, body := get(t, h, "/healthz"); code != c.health {
				t.Errorf("/healthz: %d %q, want %d", code, body, c.health)
			}
			code, body := get(t, h, "/readyz")
			if code != c.readiness || !strings.Contains(body, c.why) {
				t.Errorf("/readyz: %d %q, want %d mentioning %q", code, body, c.readiness, c.why)
			}
		})
	}
}

func TestScrapeWithSourceErrorReportsCollectorFailure(t *testing.T) {
	h := NewHandler(MetricsOptions{Source: staticSource(Snapshot{}, errors.New("agent stopped")), Aggregator: NewAggregator()})
	fams := scrape(t, h)
	if got := fams.value("node_agent_collector_success", map[string]string{"collector": "workers"}); got != 0 {
		t.Fatalf("workers collector success %v, want 0", got)
	}
	if got := fams.value("node_agent_collector_success", map[string]string{"collector": "stats"}); got != 1 {
		t.Fatalf("stats collector success %v, want 1", got)
	}
	if fams.series("node_agent_collector_duration_seconds", map[string]string{"collector": "workers"}) == nil {
		t.Fatal("no duration for the failed collector")
	}
}

func TestListenMetricsServesAndCloses(t *testing.T) {
	srv, err := ListenMetrics("127.0.0.1:0", MetricsOptions{Source: staticSource(Snapshot{}, nil), Aggregator: NewAggregator()})
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + srv.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "node_agent_collector_success") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if _, err := ListenMetrics(srv.Addr().String(), MetricsOptions{}); err == nil || !strings.Contains(err.Error(), srv.Addr().String()) {
		t.Fatalf("binding a busy address: %v, want an error naming it", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get("http://" + srv.Addr().String() + "/metrics"); err == nil {
		t.Fatal("still serving after Close")
	}
}
