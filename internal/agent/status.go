package agent

import (
	"fmt"
	"time"

	"github.com/nodeagent/node-agent/internal/monitor"

	"github.com/nodeagent/node-agent/internal/plural"
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
	Exceptions int `json:"exceptions"`
	// Reloads counts the rolling reloads that ended, by outcome: "ok",
	// "failed".
	Reloads   map[string]int `json:"reloads"`
	Reloading bool           `json:"reloading"`
	// Reload is the progress of the rolling reload in progress, or nil.
	Reload   *ReloadStatus `json:"reload,omitempty"`
	Stopping bool          `json:"stopping"`
	// Slots has one entry per slot, in order: the worker table that
	// /metrics and systemd's STATUS= show.
	Slots []SlotStatus `json:"slots"`
}

// SlotStatus is one slot (WORKER_ID) of the worker table.
type SlotStatus struct {
	ID int `json:"id"`
	// PID and State are the slot's current worker's; 0 and "stopped"
	// while the slot waits for a restart.
	PID   int    `json:"pid"`
	State string `json:"state"`
	// Restarts counts the workers started in the slot to replace another,
	// by reason (as Status.Restarts).
	Restarts map[string]int `json:"restarts"`
}

// ReloadStatus is the progress of a rolling reload.
type ReloadStatus struct {
	Replaced int `json:"replaced"`
	Of       int `json:"of"`
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

// status is the snapshot of the agent now (reporting.status). Run loop
// only.
func (s *Supervisor) status() Status {
	return s.report.status(statusInput{
		name: s.cfg.Name, version: s.version, began: s.began, now: s.sys.clock.Now(),
		table: &s.table, reload: s.rollout.progress(), stopping: s.stopping,
	})
}

// current returns the current worker of slot id, if it has one.
func (st Status) current(id int) (WorkerStatus, bool) {
	for _, w := range st.Workers {
		if w.ID == id && w.Role == "current" {
			return w, true
		}
	}
	return WorkerStatus{}, false
}

// metricsOf is the worker table of /metrics: one entry per slot, its
// current worker. beats tells that heartbeats are on (keepalive), so a
// linked worker's last heartbeat is exported.
func metricsOf(st Status, beats bool) monitor.Snapshot {
	snap := monitor.Snapshot{Stopping: st.Stopping, Exceptions: uint64(st.Exceptions), Reloads: map[string]uint64{}}
	for result, n := range st.Reloads {
		snap.Reloads[result] = uint64(n)
	}
	for _, sl := range st.Slots {
		w := monitor.Worker{Slot: sl.ID, PID: sl.PID, State: sl.State, Restarts: map[string]uint64{}}
		for reason, n := range sl.Restarts {
			w.Restarts[reason] = uint64(n)
		}
		if cur, ok := st.current(sl.ID); ok {
			w.RSS, w.CPU = int64(cur.RSS), cur.CPU/100
			if cur.Linked && beats {
				w.LastHeartbeat = cur.LastHeartbeat
			}
		}
		snap.Workers = append(snap.Workers, w)
	}
	return snap
}

// sdStatusOf is systemd's STATUS= line for st.
func sdStatusOf(st Status) string {
	ready, restarts := 0, 0
	for _, sl := range st.Slots {
		if sl.State == Ready.String() {
			ready++
		}
	}
	for _, n := range st.Restarts {
		restarts += n
	}
	status := fmt.Sprintf("%d/%s ready, %s", ready, plural.Workers(len(st.Slots)), plural.Count(restarts, "restart", "restarts"))
	switch {
	case st.Stopping:
		status = fmt.Sprintf("stopping, %s left", plural.Workers(len(st.Workers)))
	case st.Reload != nil:
		status = fmt.Sprintf("reloading: %d/%d replaced, %s", st.Reload.Replaced, st.Reload.Of, status)
	}
	return status
}
