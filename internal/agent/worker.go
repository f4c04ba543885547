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
	// cause says why the agent decided this worker must go; causeNone
	// until then. Written once, by whoever decides (stop).
	cause     stopCause
	killTimer timer
	// readyTimer is the ready deadline of a starting worker, or nil.
	readyTimer timer

	// usage is the last resource sample; sampled is false before the first.
	usage   usage
	sampled bool
}

// usage is a resource sample of one worker process.
type usage struct {
	RSS         uint64  // resident set size in bytes
	CPU         float64 // percent of one core since the previous CPU sample
	cpuMeasured bool    // CPU was measured in this sample
}

// slot is a WORKER_ID. A replacement worker reuses the slot of the worker
// it replaces.
type slot struct {
	id int
	w  *worker
	// next is the worker replacing w (rolling reload, memory restart)
	// until it is ready; nil otherwise.
	next *worker
	// restarted: a worker was started in the slot to replace another
	// (restarting); the next restart is paced.
	restarted bool
	// lastStart bounds restarts to one per minRestartInterval.
	lastStart time.Time
	pending   timer // a scheduled restart, or nil
}

// promote puts the slot's next worker in place and returns the worker it
// replaces (nil when the slot was empty).
func (sl *slot) promote() (old *worker) {
	old, sl.w, sl.next = sl.w, sl.next, nil
	return old
}

// cancelPending cancels the slot's scheduled restart, if any.
func (sl *slot) cancelPending() {
	if sl.pending != nil {
		sl.pending.Stop()
		sl.pending = nil
	}
}

// workers calls f for the slot's current worker and its replacement.
func (sl *slot) workers(f func(w *worker)) {
	if sl.w != nil {
		f(sl.w)
	}
	if sl.next != nil {
		f(sl.next)
	}
}
