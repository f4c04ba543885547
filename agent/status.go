package agent

import (
	"maps"
	"os"
	"sort"
	"time"
)

// Status is a snapshot of the agent: what agent.status answers (as JSON),
// what metrics and systemd's STATUS= are made of.
type Status struct {
	Name    string    `json:"name"`
	PID     int       `json:"pid"`
	Version string    `json:"version"`
	Started time.Time `json:"started"`
	// Workers are the worker processes by slot: the current worker of
	// each slot, its replacement while one starts, and workers that left
	// their slot and are still stopping.
	Workers []WorkerStatus `json:"workers"`
	// Instances is the number of slots.
	Instances int `json:"instances"`
	// Restarts counts the workers started to replace another, by reason:
	// crash (any exit the agent did not ask for), keepalive (killed for
	// missing heartbeats), memory, reload (monitor.Reason*).
	Restarts map[string]int `json:"restarts"`
	// Exceptions counts exceptions (SPEC §6) since the start.
	Exceptions int  `json:"exceptions"`
	Reloading  bool `json:"reloading"`
	Stopping   bool `json:"stopping"`
}

// WorkerStatus describes one worker process.
type WorkerStatus struct {
	ID    int    `json:"id"` // the slot, WORKER_ID
	PID   int    `json:"pid"`
	State string `json:"state"`
	// Role is "current", "replacement" (starting to replace the current
	// one) or "old" (left its slot, stopping).
	Role    string    `json:"role"`
	Linked  bool      `json:"linked"`
	Started time.Time `json:"started"`
	// Uptime is in seconds.
	Uptime float64 `json:"uptime"`
	// Restarts counts the workers started in the slot to replace another
	// (every reason); RestartsBy splits them by reason (as
	// Status.Restarts). Both are absent for a worker that left its slot.
	Restarts   int            `json:"restarts"`
	RestartsBy map[string]int `json:"restarts_by,omitempty"`
	// RSS in bytes and CPU in percent of one core, from the last sample
	// (0 before the first one).
	RSS uint64  `json:"rss"`
	CPU float64 `json:"cpu"`
	// LastHeartbeat is the time of the last heartbeat (or of the start).
	LastHeartbeat time.Time `json:"last_heartbeat"`
}

// Ready counts the slots whose current worker is ready.
func (st Status) Ready() int {
	n := 0
	for _, w := range st.Workers {
		if w.Role == "current" && w.State == Ready.String() {
			n++
		}
	}
	return n
}

// status builds the snapshot; run loop only.
func (s *Supervisor) status() Status {
	now := s.clock.Now()
	st := Status{
		Name:       s.cfg.Name,
		PID:        os.Getpid(),
		Version:    s.Version,
		Started:    s.began,
		Instances:  len(s.slots),
		Restarts:   maps.Clone(s.restarts),
		Exceptions: s.exceptions,
		Reloading:  s.reload != nil,
		Stopping:   s.stopping,
	}
	add := func(w *worker, role string, sl *slot) {
		ws := WorkerStatus{
			ID: w.slot, PID: w.p.PID(), State: w.state.String(), Role: role, Linked: w.linked,
			Started: w.started, Uptime: now.Sub(w.started).Seconds(),
			RSS: w.usage.RSS, CPU: w.usage.CPU, LastHeartbeat: w.lastBeat,
		}
		if sl != nil {
			ws.RestartsBy = maps.Clone(sl.restartsBy)
			for _, n := range sl.restartsBy {
				ws.Restarts += n
			}
		}
		st.Workers = append(st.Workers, ws)
	}
	for _, sl := range s.slots {
		if sl.w != nil {
			add(sl.w, "current", sl)
		}
		if sl.next != nil {
			add(sl.next, "replacement", sl)
		}
	}
	for _, w := range s.old {
		add(w, "old", nil)
	}
	sort.SliceStable(st.Workers, func(i, j int) bool { return st.Workers[i].ID < st.Workers[j].ID })
	return st
}
