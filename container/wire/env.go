package wire

// Version is the protocol version spoken by this package. A worker announces
// it in Hello; the agent refuses a worker whose version it does not speak.
const Version = 1

// Environment variables set by the agent for each worker. The worker library
// reads them once and removes them from its environment, so the worker's own
// children do not inherit them.
const (
	// EnvChannelFD is the number of the inherited channel descriptor.
	EnvChannelFD = "NODE_AGENT_FD"
	// EnvProtocol is the protocol version the agent speaks.
	EnvProtocol = "NODE_AGENT_PROTOCOL"
	// EnvHeartbeat is the heartbeat interval in milliseconds; 0 or absent
	// means the worker sends none (keepalive off).
	EnvHeartbeat = "NODE_AGENT_HEARTBEAT_MS"
	// EnvLogLevel is the initial level of the worker's logger (DEBUG,
	// INFO, WARN, ERROR or NONE); absent means DEBUG.
	EnvLogLevel = "NODE_AGENT_LOG_LEVEL"

	// EnvMonitor turns the worker's statistics on ("1") or off ("0" or
	// absent): HTTP stats, properties and runtime samples are collected
	// and sent (KindStats, KindProperties) only when it is on.
	EnvMonitor = "NODE_AGENT_MONITOR"
	// EnvMonitorFlush is the interval in milliseconds at which the worker
	// sends what it collected; absent means DefaultMonitorFlush.
	EnvMonitorFlush = "NODE_AGENT_MONITOR_FLUSH_MS"
	// EnvHTTPThreshold is the HTTP status from which a request counts as
	// failed; 0 means statuses never do (only failed connections);
	// absent means DefaultHTTPThreshold.
	EnvHTTPThreshold = "NODE_AGENT_HTTP_THRESHOLD"
	// EnvHTTPSeppath is "1" to report each URL path (or route pattern) as
	// its own interface, "0" to report all requests under the interface
	// ""; absent means "1".
	EnvHTTPSeppath = "NODE_AGENT_HTTP_SEPPATH"
)

// Defaults of the monitoring variables.
const (
	DefaultMonitorFlush  = 1000 // ms
	DefaultHTTPThreshold = 400
)

// MonitorEnv lists the monitoring variables, for the agent to scrub from
// what workers inherit.
func MonitorEnv() []string {
	return []string{EnvMonitor, EnvMonitorFlush, EnvHTTPThreshold, EnvHTTPSeppath}
}

// ChannelFD is the descriptor number the agent gives the channel: the first
// of exec.Cmd.ExtraFiles.
const ChannelFD = 3
