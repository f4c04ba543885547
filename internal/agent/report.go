package agent

import (
	"maps"
	"os"
	"sort"
	"time"
)

// reporting is the run loop's part that reports. It keeps the lifecycle
// counters, fed by the agent's events only (observe is a subscriber), and
// makes the one Status snapshot that agent.status answers, /metrics
// exports (metricsOf) and systemd's STATUS= shows (sdStatusOf), so the
// three always agree. It also says what to tell systemd (sdMessages).
type reporting struct {
	counts counters
	sd     sdReporter
}

func newReporting() *reporting {
	return &reporting{counts: counters{restarts: map[int]map[string]int{}, retired: map[string]int{}, reloads: map[string]int{}}}
}

// counters are the agent's lifecycle counts since it started.
type counters struct {
	// exceptions counts the exceptions (SPEC §6): WorkerExited.Exception
	// and WorkerStartFailed.
	exceptions int
	// restarts counts each live slot's restarts (SlotRestarted) by
	// reason; retired those of slots scaled away, by reason.
	restarts map[int]map[string]int
	retired  map[string]int
	// reloads counts the rolling reloads that ended, by outcome.
	reloads map[string]int
}

// Reload outcomes, the keys of Status.Reloads.
const (
	reloadOK     = "ok"
	reloadFailed = "failed"
)

// observe counts what ev says. Run loop only (a subscriber).
func (r *reporting) observe(ev Event) {
	c := &r.counts
	switch ev := ev.(type) {
	case WorkerExited:
		if ev.Exception {
			c.exceptions++
		}
	case WorkerStartFailed:
		c.exceptions++
	case SlotRestarted:
		if c.restarts[ev.Slot] == nil {
			c.restarts[ev.Slot] = map[string]int{}
		}
		c.restarts[ev.Slot][ev.Reason]++
	case Scaled:
		for id := ev.To; id < ev.From; id++ {
			for reason, n := range c.restarts[id] {
				c.retired[reason] += n
			}
			delete(c.restarts, id)
		}
	case ReloadStarted:
		r.sd.reloading()
	case ReloadDone:
		if ev.Err != nil {
			c.reloads[reloadFailed]++
		} else {
			c.reloads[reloadOK]++
		}
		r.sd.reloaded()
	}
}

// exceptions counts the exceptions since the start.
func (r *reporting) exceptions() int { return r.counts.exceptions }

// retired are the restarts of the slots scaled away, by reason (a copy).
func (r *reporting) retired() map[string]int { return maps.Clone(r.counts.retired) }

// reloads returns the rolling reloads that ended, by outcome (a copy).
func (r *reporting) reloads() map[string]int { return maps.Clone(r.counts.reloads) }

// slotRestarts are the restarts of slot id by reason (a copy, never nil).
func (r *reporting) slotRestarts(id int) map[string]int { return r.counts.slotRestarts(id) }

// slotRestarts are the restarts of slot id by reason (a copy, never nil).
func (c *counters) slotRestarts(id int) map[string]int {
	if m := maps.Clone(c.restarts[id]); m != nil {
		return m
	}
	return map[string]int{}
}

// totals are the agent's restarts by reason: those of slots, live and
// retired.
func (c *counters) totals() map[string]int {
	t := maps.Clone(c.retired)
	for _, byReason := range c.restarts {
		for reason, n := range byReason {
			t[reason] += n
		}
	}
	return t
}

// adopt takes over the counts a previous program of the agent handed over
// (an upgrade in place): exceptions, the restarts of the slots scaled
// away, the reloads by outcome and the restarts of each slot.
func (r *reporting) adopt(exceptions int, retired, reloads map[string]int, slots map[int]map[string]int) {
	c := &r.counts
	c.exceptions = exceptions
	if retired != nil {
		c.retired = maps.Clone(retired)
	}
	if reloads != nil {
		c.reloads = maps.Clone(reloads)
	}
	for id, byReason := range slots {
		if len(byReason) > 0 {
			c.restarts[id] = maps.Clone(byReason)
		}
	}
}

// statusInput is what the run loop's other parts tell reporting for a
// snapshot.
type statusInput struct {
	name, version string
	began, now    time.Time
	table         *table
	reload        *ReloadStatus // the reload in progress, or nil
	stopping      bool
}

// status builds the snapshot of the worker table, the one source of
// agent.status, /metrics (metricsOf) and systemd's STATUS= (sdStatusOf).
func (r *reporting) status(in statusInput) Status {
	st := Status{
		Name:       in.name,
		PID:        os.Getpid(),
		Version:    in.version,
		Started:    in.began,
		Instances:  len(in.table.slots),
		Restarts:   r.counts.totals(),
		Exceptions: r.counts.exceptions,
		Reloads:    maps.Clone(r.counts.reloads),
		Reloading:  in.reload != nil,
		Reload:     in.reload,
		Stopping:   in.stopping,
	}
	add := func(w *worker, role string, restarts map[string]int) {
		ws := WorkerStatus{
			ID: w.slot, PID: w.p.PID(), State: w.state.String(), Role: role, Linked: w.linked,
			Started: w.started, Uptime: in.now.Sub(w.started).Seconds(),
			RSS: w.usage.RSS, CPU: w.usage.CPU, LastHeartbeat: w.lastBeat,
		}
		if restarts != nil {
			ws.RestartsBy = restarts
			for _, n := range restarts {
				ws.Restarts += n
			}
		}
		st.Workers = append(st.Workers, ws)
	}
	for _, sl := range in.table.slots {
		ss := SlotStatus{ID: sl.id, State: Stopped.String(), Restarts: r.counts.slotRestarts(sl.id)}
		if sl.w != nil {
			ss.PID, ss.State = sl.w.p.PID(), sl.w.state.String()
			add(sl.w, "current", r.counts.slotRestarts(sl.id))
		}
		if sl.next != nil {
			add(sl.next, "replacement", r.counts.slotRestarts(sl.id))
		}
		st.Slots = append(st.Slots, ss)
	}
	for _, w := range in.table.old {
		add(w, "old", nil)
	}
	sort.SliceStable(st.Workers, func(i, j int) bool { return st.Workers[i].ID < st.Workers[j].ID })
	return st
}

// sdMessages are the messages that tell systemd about st, if any
// (sdReporter).
func (r *reporting) sdMessages(st Status) []string { return r.sd.update(st) }
