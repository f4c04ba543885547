package monitor

import (
	"context"
	"strconv"
	"time"
)

// Worker states, as Worker.State names them.
const (
	StateStarting = "starting"
	StateReady    = "ready"
	StateStopping = "stopping"
	StateStopped  = "stopped"
)

// states are the label values of node_agent_worker_state, in order.
var states = [...]string{StateStarting, StateReady, StateStopping, StateStopped}

// Restart reasons, the label values of node_agent_worker_restarts_total.
// Any other reason is exported as ReasonOther, so the label stays bounded.
const (
	ReasonCrash     = "crash"     // the worker exited without being asked
	ReasonKeepalive = "keepalive" // killed for missing heartbeats
	ReasonMemory    = "memory"    // over --max-memory-restart
	ReasonReload    = "reload"    // replaced by a rolling reload
	ReasonOther     = "other"
)

func restartReason(r string) string {
	switch r {
	case ReasonCrash, ReasonKeepalive, ReasonMemory, ReasonReload:
		return r
	}
	return ReasonOther
}

// Snapshot is the agent's worker table at one moment, as the agent's run
// loop sees it. The agent fills it; monitor only reads it.
type Snapshot struct {
	// Stopping is true once the agent shuts down: it is not ready then.
	Stopping bool
	// Exceptions counts the worker exits the agent did not ask for, since
	// it started.
	Exceptions uint64
	// Reloads counts the rolling reloads that ended since the agent
	// started, by outcome: "ok" or "failed".
	Reloads map[string]uint64
	// Workers has one entry per slot.
	Workers []Worker
}

// Worker is one slot of the table and the process running in it.
type Worker struct {
	// Slot is the WORKER_ID, 0..N-1.
	Slot int
	// PID is the slot's current process, 0 while it waits for a restart.
	PID int
	// State is one of the State* names (StateStopped while no process runs).
	State string
	// Restarts counts the slot's restarts since the agent started, by
	// Reason* name.
	Restarts map[string]uint64
	// RSS is the process's resident memory in bytes, 0 when unknown.
	RSS int64
	// CPU is the process's CPU use over the last sample in cores: 1 is
	// one core fully busy.
	CPU float64
	// LastHeartbeat is the time of the worker's last heartbeat, zero when
	// it sends none (a plain binary, keepalive off).
	LastHeartbeat time.Time
}

// Source returns a snapshot of the worker table. It is called on each
// scrape and health check, from the HTTP server's goroutines; the agent
// answers it from its run loop, so a loop that does not answer before ctx
// ends makes /healthz fail. It must honour ctx.
type Source func(ctx context.Context) (Snapshot, error)

// ready reports whether every worker is ready, and else which is not.
func (s Snapshot) ready() (bool, string) {
	if s.Stopping {
		return false, "the agent is stopping"
	}
	if len(s.Workers) == 0 {
		return false, "no workers"
	}
	for _, w := range s.Workers {
		if w.State != StateReady {
			return false, "worker " + strconv.Itoa(w.Slot) + " is " + w.State
		}
	}
	return true, ""
}
