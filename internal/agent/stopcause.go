package agent

import "github.com/nodeagent/node-agent/internal/monitor"

// stopCause says why a worker stopped. Whoever decides that a worker must
// go writes it once (Supervisor.stop and the kills that do not ask); the
// worker's exit reads it (decideExit). causeNone means the agent decided
// nothing: the worker exited on its own, a crash.
type stopCause int

const (
	causeNone stopCause = iota
	// causeStartFailed: the process could not be started at all; no
	// worker exists (startFailed).
	causeStartFailed
	// causeNotReady: killed at its ready deadline (--ready-timeout).
	causeNotReady
	// causeKeepalive: killed for missing heartbeats (a zombie).
	causeKeepalive
	// causeMemory: over --max-memory-restart, replaced or restarted.
	causeMemory
	// causeShutdown: the agent stops.
	causeShutdown
	// causeReplaced: a replacement took its slot (rolling reload).
	causeReplaced
	// causeScaleDown: its slot was removed by agent.scale.
	causeScaleDown
	// causeCancelled: a replacement given up before it took the slot.
	causeCancelled
	// causeProtocol: it speaks another protocol version than the agent.
	causeProtocol
)

func (c stopCause) String() string {
	switch c {
	case causeNone:
		return "crash"
	case causeStartFailed:
		return "start failed"
	case causeNotReady:
		return "not ready in time"
	case causeKeepalive:
		return "keepalive"
	case causeMemory:
		return monitor.ReasonMemory
	case causeShutdown:
		return "shutdown"
	case causeReplaced:
		return monitor.ReasonReload
	case causeScaleDown:
		return "scale down"
	case causeCancelled:
		return "replacement failed"
	case causeProtocol:
		return "protocol mismatch"
	}
	return "unknown"
}

// restartReason is the restart label (monitor.Reason*) of a slot restarted
// after a worker stopped for c, or "" when c does not restart the slot.
func (c stopCause) restartReason() string {
	switch c {
	case causeNone, causeStartFailed, causeNotReady:
		return monitor.ReasonCrash
	case causeKeepalive:
		return monitor.ReasonKeepalive
	case causeMemory:
		return monitor.ReasonMemory
	}
	return ""
}

// isException reports whether an exit for c counts against the exception
// limit (SPEC §6): every exit the agent did not ask for, and every kill it
// decided because the worker failed (deadline, heartbeats, memory).
func (c stopCause) isException() bool { return c.restartReason() != "" }
