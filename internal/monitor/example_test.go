package monitor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/nodeagent/node-agent/container/wire"
	"github.com/nodeagent/node-agent/internal/monitor"
)

// The agent hands each monitoring frame of a worker to the Aggregator and
// serves the totals; here a batch of 3 successful and 1 failed requests.
func ExampleAggregator() {
	agg := monitor.NewAggregator()
	var ok, failed wire.Latencies
	ok.Buckets[1] = 3 // 3 requests of 5–10 ms
	failed.Buckets[0] = 1
	body, _ := json.Marshal(wire.Stats{HTTP: []wire.HTTPStat{{Interface: "/api/items/{id}", Success: ok, Failure: failed}}})
	if err := agg.Handle(0, 4242, wire.Message{Kind: wire.KindStats, Body: body}); err != nil {
		fmt.Println(err)
	}

	source := func(ctx context.Context) (monitor.Snapshot, error) { // the agent's run loop answers this
		return monitor.Snapshot{Workers: []monitor.Worker{{Slot: 0, PID: 4242, State: monitor.StateReady}}}, nil
	}
	h := monitor.NewHandler(monitor.MetricsOptions{Source: source, Aggregator: agg})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, "node_agent_http_requests_total") || strings.HasPrefix(line, `node_agent_worker_state{slot="0",state="ready"}`) {
			fmt.Println(line)
		}
	}
	// Output:
	// node_agent_http_requests_total{interface="/api/items/{id}",outcome="error"} 1
	// node_agent_http_requests_total{interface="/api/items/{id}",outcome="success"} 3
	// node_agent_worker_state{slot="0",state="ready"} 1
}
