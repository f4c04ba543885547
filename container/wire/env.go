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
)

// ChannelFD is the descriptor number the agent gives the channel: the first
// of exec.Cmd.ExtraFiles.
const ChannelFD = 3
