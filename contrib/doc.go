// Package contrib holds files to run node-agent fleets with, checked by
// its tests (go test ./contrib):
//
//   - prometheus/node-agent-rules.yml: alerting rules on the metrics of
//     --metrics-address: no ready worker, workers not ready, exception
//     limit near, a worker flapping, memory restarts, HTTP errors, metrics
//     collection failing. prometheus/node-agent-rules.test.yml fires each
//     of them (promtool test rules).
//   - grafana/node-agent-dashboard.json: a Grafana dashboard (import it,
//     pick the Prometheus data source): workers by state, restarts by
//     cause, RSS and CPU per slot, HTTP rate, errors and latency by
//     interface, exceptions, heartbeats and Go runtime figures per slot.
//
// The tests run promtool (Debian package prometheus) on the rules and on
// every expression of the dashboard, and check that every metric they
// name is exported by package monitor.
package contrib
