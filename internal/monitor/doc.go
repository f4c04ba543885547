// Package monitor is the agent's side of statistics: it adds up what the
// workers send, exports it to Prometheus with the worker table, and reports
// it to TARS (StatF, PropertyF). It reads the agent's state only through
// the types it defines (Snapshot, a Source), so the agent's run loop stays
// the single owner of the worker table. The counters of a Snapshot
// (exceptions, restarts by slot and reason, reloads by result) are counted
// by the agent from its typed lifecycle events (package agent's reporting
// part subscribes to them), so /metrics, agent.status and systemd's
// STATUS= show the same figures.
//
// # Data flow
//
// A worker that links package container collects HTTP request stats
// (container.Worker.MonitorHTTP), custom properties (Worker.Property) and
// samples of its Go runtime, and sends them every second as deltas in
// frames of kinds wire.KindStats and wire.KindProperties. The agent hands
// every such frame to Aggregator.Handle with the worker's slot and pid, and
// each resource sample of its sampler to Aggregator.ObserveUsage:
//
//	agg := monitor.NewAggregator()
//	…
//	case m.Kind.IsMonitoring():                 // in the run loop
//		if err := agg.Handle(w.slot, pid, m); err != nil { log it }
//	…
//	agg.ObserveUsage(slot, pid, rssBytes, cpuCores) // after each sample
//
// Because batches are deltas, totals survive worker restarts and are never
// counted twice: a replacement starts from zero and adds to them. What a
// worker had not flushed when it was killed (at most one flush interval) is
// lost; a worker that stops gracefully flushes in Close.
//
// # Prometheus (--metrics-address)
//
//	srv, err := monitor.ListenMetrics(cfg.MetricsAddress, monitor.MetricsOptions{
//		Source: snapshot, Aggregator: agg, Reporter: reporter})   // reporter may be nil
//	…
//	srv.Close(ctx)
//
// serves /metrics, /healthz (200 when Source answers within CheckTimeout:
// the run loop is alive) and /readyz (200 when every worker is ready and the
// agent is not stopping; the body names the first worker that is not).
// Metrics, all with bounded labels (slot, not pid; at most 100 interfaces
// and 200 properties, the rest counted as "(other)" or refused):
//
//	node_agent_worker_state{slot,state}              1 for the current state of starting|ready|stopping|stopped
//	node_agent_worker_pid{slot}                      the slot's process
//	node_agent_worker_restarts_total{slot,reason}    crash|keepalive|memory|reload|other
//	node_agent_exceptions_total                      exits the agent did not ask for
//	node_agent_reloads_total{result}                 rolling reloads that ended, ok|failed
//	node_agent_worker_rss_bytes{slot}                from the agent's sampler
//	node_agent_worker_cpu_ratio{slot}                cores, 1 = one core busy
//	node_agent_worker_heartbeat_age_seconds{slot}    linked workers with heartbeats
//	node_agent_worker_heap_used_bytes{slot}          Go runtime of the worker (runtime/metrics)
//	node_agent_worker_goroutines{slot}
//	node_agent_worker_gc_pause_seconds{slot}         longest GC pause between its last two samples
//	node_agent_worker_sched_latency_seconds{slot}    p99 scheduling delay between its last two samples
//	node_agent_http_requests_total{interface,outcome}            outcome = success|error
//	node_agent_http_request_duration_seconds{interface,outcome}  histogram, buckets 5 ms … 3 s
//	node_agent_property{property}                    summary: count and sum of the values reported
//	node_agent_property_distribution{property}       histogram, for properties with a Distr policy
//	node_agent_monitor_rejected_total                batches and properties refused
//	node_agent_tars_reports_total{servant,result}    stat|property, ok|error
//	node_agent_collector_duration_seconds{collector} workers|stats|tars, as node_exporter's collectors
//	node_agent_collector_success{collector}          0 when the collector failed (the run loop did not answer)
//	go_*, process_*                                  the agent process itself
//
// The interface of a request is its route pattern ("/api/sms/{id}") when
// an http.ServeMux routed it, else its URL path, "" with seppath off.
// Max and Min of custom properties are TARS policies and are not exported
// to Prometheus; the average is rate(_sum)/rate(_count).
//
// # TARS (--tars-monitor on, a config naming stat and/or property)
//
//	rep := monitor.NewTarsReporter(agg, sender, monitor.TarsOptions{
//		Stat: cfg.Stat, Property: cfg.Property, Interval: cfg.ReportInterval,
//		ModuleName: cfg.ModuleName, LocalIP: cfg.LocalIP, SlaveIP: host, SlavePort: port})
//	go rep.Run(ctx) // returns after a last report when ctx ends
//
// Every interval (at least MinReportInterval, 10 s) it takes the interval's
// statistics from the Aggregator and sends, one-way:
//
//   - StatF.reportMicMsg(msg, bFromClient=false): one row per interface,
//     masterName "http_client", slaveName the module name, interfaceName
//     the interface, masterIp "" (per-client rows would be unbounded),
//     slaveIp/slavePort the http address; count = successes, execCount =
//     failures, timeoutCount 0, the latency histogram (5 … 3000 ms, slower
//     requests in 3000, as @tars/monitor), totalRspTime, maxRspTime and
//     minRspTime of the successes in ms.
//   - PropertyF.reportPropMsg: the usage of the workers, merged across them,
//     as "<module>.rss", ".cpuUsage" (percent of a core), ".heapUsed",
//     ".heapTotal", ".goroutines", ".gcPause" (ms), ".schedLatency" (ms),
//     each with Max, Min and Avg; then the custom properties with their own
//     policies (Avg with up to 3 decimals, where @tars/monitor floors it;
//     Distr as "bound|count,…"). iPropertyVer is 2.
//
// Rows are split into several calls so that each argument buffer stays
// under MaxCallSize (1400 bytes, TarsCpp's max-report-size). Calls go
// through a Sender, which the agent implements with its TARS client (it
// resolves "tars.tarsstat.StatObj" through the locator or uses the
// endpoints of "Obj@tcp -h … -p …").
//
// # Across an upgrade in place
//
// An agent replacing its own program (package agent) carries its
// statistics to the next one: Carry takes the Aggregator's totals and
// interval in progress, the reporter's call counts and the opening of its
// interval (hold the reporter first: Hold), and the Go runtime's
// counters; the next program passes them to RestoreAggregator,
// TarsOptions.Carried and MetricsOptions.Carried. No counter of /metrics
// goes down, and the interval in progress is reported once, by the next
// program, when it ends. Server.Pause and Resume stop and restart serving
// without closing the listening socket, for its hand-over.
package monitor
