package agent

import "time"

// State is the life stage of a worker: starting → ready → stopping → stopped.
type State int

// Worker states.
const (
	Starting State = iota
	Ready
	Stopping
	Stopped
)

func (s State) String() string {
	switch s {
	case Starting:
		return "starting"
	case Ready:
		return "ready"
	case Stopping:
		return "stopping"
	}
	return "stopped"
}

// worker is one process in a slot. Only the run loop touches it.
type worker struct {
	slot    int
	p       proc
	state   State
	linked  bool // spoke the container protocol
	started time.Time
	// lastBeat is the time of the last heartbeat (or of the start).
	lastBeat time.Time
	// requested is true when the agent asked this worker to stop, so its
	// exit is not an exception.
	requested bool
	// zombie is true once the worker was killed for missing heartbeats.
	zombie    bool
	killTimer timer
	reason    string
}

// slot is a WORKER_ID. A replacement worker reuses the slot of the worker
// it replaces.
type slot struct {
	id       int
	w        *worker
	restarts int
	// lastStart bounds restarts to one per minRestartInterval.
	lastStart time.Time
	pending   timer // a scheduled restart, or nil
}
