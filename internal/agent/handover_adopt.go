package agent

import (
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/nodeagent/node-agent/internal/control"
	"github.com/nodeagent/node-agent/internal/monitor"
)

// Adopt makes Run take over the workers and everything else h hands over
// instead of starting workers. Call it before Open and Run.
func (s *Supervisor) Adopt(h *Handover) { s.up.adopted = h }

// held returns h's held children; nil for no hand-over.
func (h *Handover) held() []int {
	if h == nil {
		return nil
	}
	return h.heldPIDs()
}

// containment returns the containment of the workers: the previous
// program's when adopting, else a new one.
func (s *Supervisor) containment(r *reaper) *containment {
	if h := s.up.adopted; h != nil {
		return adoptContainment(h.doc.Contain, r)
	}
	return contain(s.cfg.Name, r, s.log)
}

// adoptHandover takes over the state and the workers of the hand-over
// Adopt gave, if any, and answers the client that asked for the upgrade.
// It reports whether there was one; Run starts the workers otherwise.
func (s *Supervisor) adoptHandover() bool {
	h := s.up.adopted
	if h == nil {
		return false
	}
	s.up.adopted = nil
	d := h.doc
	s.began, s.gathers.nextID = d.Began, d.NextCmdID
	s.policy.adopt(d.Window)
	restarts := map[int]map[string]int{}
	for _, ss := range d.Slots {
		restarts[ss.ID] = ss.Restarts
	}
	s.report.adopt(d.Exceptions, d.Retired, d.Reloads, restarts)
	if d.Level != "" && d.Level != s.level {
		s.level = d.Level
		s.out.SetLevel(d.Level)
	}
	if err := s.sockets.adopt(d.Sockets); err != nil {
		s.log.error("upgrade in place: %v", err)
	}
	s.table.slots = make([]*slot, len(d.Slots))
	adopted := 0
	for i, ss := range d.Slots {
		sl := &slot{id: ss.ID, restarted: len(ss.Restarts) > 0, lastStart: ss.LastStart}
		s.table.slots[i] = sl
		p, err := s.up.starter.adopt(ss.ID, ss.Worker, s.post)
		if err != nil {
			// Its channel is lost: it cannot be supervised, so it goes.
			s.log.error("upgrade in place: worker %d (pid %d): %v; killing it", ss.ID, ss.Worker.PID, err)
			syscall.Kill(-ss.Worker.PID, syscall.SIGKILL)
			s.up.reaper.adopt(ss.Worker.PID, func(syscall.WaitStatus) {})
			s.refill(sl)
			continue
		}
		sl.w = &worker{slot: ss.ID, p: p, state: Ready, linked: ss.Worker.Linked, started: ss.Worker.Started, lastBeat: ss.Worker.LastBeat}
		adopted++
	}
	took := time.Since(d.Frozen)
	text := describeUpgrade(s.cfg.Name, d.From, s.version, adopted, took)
	s.log.info("%s (%v since it was asked for)", text, time.Since(d.Asked).Round(100*time.Microsecond))
	if d.Client >= 0 {
		c := os.NewFile(uintptr(d.Client), "control-client")
		if err := control.Answer(c, text, nil); err != nil {
			s.log.warn("upgrade in place: answering the client: %v", err)
		}
		c.Close()
	}
	return true
}

// adoptedListener returns the listener the previous program handed over
// in the field of its document that which picks (Admin, Metrics), or nil
// when there is none: the caller binds its address then.
func (s *Supervisor) adoptedListener(which func(*handoverDoc) *int) (net.Listener, error) {
	h := s.up.adopted
	if h == nil || which(h.doc) == nil {
		return nil, nil
	}
	f := os.NewFile(uintptr(*which(h.doc)), "listener")
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("upgrade in place: adopting a listener: %w", err)
	}
	return ln, nil
}

// adoptedStats restores the workers' statistics the previous program
// handed over into the aggregator and returns them for the exporters
// (monitor.TarsOptions.Carried, monitor.MetricsOptions.Carried); nil when
// there are none.
func (s *Supervisor) adoptedStats() *monitor.Carried {
	h := s.up.adopted
	if h == nil || h.doc.Monitor == nil {
		return nil
	}
	monitor.RestoreAggregator(s.stats, h.doc.Monitor)
	return h.doc.Monitor
}
