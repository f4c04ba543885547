package agent

import (
	"fmt"
	"runtime"

	"github.com/nodeagent/node-agent/internal/monitor"
)

// Packing (--steering=pack, the default). Spreading a light load evenly
// over many workers wakes a sleeping process for nearly every connection,
// and a process woken from sleep costs more per request than one already
// running (cold caches, and Go's scheduler starting and parking threads):
// at 960 connections/s, 128 workers spent 1.6× the CPU per request of 4
// (BENCHMARKS.md, issue 21). So, like EPOLLEXCLUSIVE's LIFO wake-ups or
// nginx's accept_mutex, the agent sends new connections to the smallest
// set of ready slots that keeps up — the active slots, the first ones in
// slot order — and sizes that set at every look at the accept queues
// (stallCheckInterval):
//
//   - It doubles when the active workers are busy: every active slot had
//     connections waiting in its accept queue at this look and the one
//     before, or their CPU over the last interval averaged packBusyCPU or
//     more of a core each. One waiting connection is one caught between
//     the handshake and the worker's accept, which happens at any load,
//     and on a host whose CPUs other processes keep busy a woken worker
//     waits for one, so a queue seen twice on one slot is common there;
//     every active slot behind at once is the set not keeping up (new
//     connections are spread over them by hash, so an overload reaches
//     them all), while one slot behind alone is that worker's problem:
//     the stall check's.
//   - It halves after packQuietLooks quiet looks in a row: fewer than
//     half of the active slots with connections waiting at two looks in a
//     row, and a CPU use the halved set would carry at under half of
//     packBusyCPU each.
//   - It never goes below the floor, packFloor: as many slots as the
//     agent's usable CPUs (GOMAXPROCS: the affinity set and the cgroup
//     quota, what -i auto counts), and at least 2 — or every ready slot
//     when fewer are ready. At that size every core can be busy even if
//     each worker ran a single thread (GOMAXPROCS=1, a hot lock), so
//     packing never leaves idle a core that spreading would use; and no
//     single worker takes every new connection, so one that pauses (a
//     stop-the-world, a stall until the look notices it) delays at most
//     half of them. An agent with no more workers than usable CPUs (-i
//     auto) packs nothing: it behaves exactly as --steering=spread.
//
// Under saturation the set grows to every ready slot within a few looks
// (log2(ready/floor) of them), so connections are then spread by hash over
// all of them as with spread. A crashed, stopping or stalled active slot
// leaves the set at once and the next ready slot takes its place; a slot
// added by scaling up joins when the set grows to it. What was already
// queued on a slot leaving the set stays there for its worker (or moves to
// an active slot when its socket closes), as with spread. Keep-alive
// connections stay where they were accepted: a service whose clients open
// a few long-lived connections in one burst at light load keeps them on
// the active workers; --steering=spread is for that case.
const (
	packBusyCPU    = 50.0 // percent of one core per active worker
	packQuietLooks = 10
)

// packFloor is the fewest active slots (see above).
func packFloor() int { return max(2, runtime.GOMAXPROCS(0)) }

// packer sizes the active set of one address's ready slots. Only the run
// loop uses it.
type packer struct {
	floor      int // the fewest active slots, while that many are ready
	size       int // the active set's size before capping at the ready slots
	quiet      int // quiet looks in a row
	quietLooks int // quiet looks before halving (packQuietLooks; less in tests)
}

func newPacker(floor, quietLooks int) *packer {
	floor = max(floor, 1)
	return &packer{floor: floor, size: floor, quietLooks: max(quietLooks, 1)}
}

// count returns how many of ready slots are active.
func (p *packer) count(ready int) int {
	return min(ready, max(p.size, p.floor))
}

// activeLoad is what one look saw of the slots that were active since the
// previous one.
type activeLoad struct {
	active     int     // how many were active
	backlogged int     // of them, those with connections waiting at this look and the previous one
	cpu        float64 // their workers' CPU over the interval, percent of one core, summed
}

// packChange is a new size of the active set and why.
type packChange struct {
	from, to, ready int
	why             string
}

// observe sizes the set for ready slots after a look that saw load, and
// says when the size changed.
func (p *packer) observe(load activeLoad, ready int) (packChange, bool) {
	active := p.count(ready)
	floor := min(ready, p.floor)
	busy := load.active > 0 && (load.backlogged >= load.active || load.cpu >= packBusyCPU*float64(load.active))
	if busy {
		p.quiet = 0
		if active >= ready {
			return packChange{}, false
		}
		p.size = min(2*active, ready)
		why := fmt.Sprintf("%.0f %% CPU over %d", load.cpu, load.active)
		if load.backlogged >= load.active {
			why = fmt.Sprintf("connections waiting on each at two looks in a row, %s", why)
		}
		return packChange{from: active, to: p.size, ready: ready, why: "busy: " + why}, true
	}
	target := max(active/2, floor)
	if target >= active || 2*load.backlogged >= load.active || load.cpu >= packBusyCPU/2*float64(target) {
		p.quiet = 0
		return packChange{}, false
	}
	p.quiet++
	if p.quiet < p.quietLooks {
		return packChange{}, false
	}
	p.quiet, p.size = 0, target
	return packChange{from: active, to: target, ready: ready,
		why: fmt.Sprintf("quiet for %d looks, %.0f %% CPU over %d", p.quietLooks, load.cpu, load.active)}, true
}

// activeCPU returns the CPU use of the workers of slots since the previous
// call, in percent of one core, by slot: a slot's current worker plus its
// replacement while a reload runs. A worker sampled for the first time
// counts 0.
func (s *Supervisor) activeCPU(slots map[int]bool) map[int]float64 {
	if s.sockets.cpu == nil {
		s.sockets.cpu = monitor.NewSampler()
	}
	bySlot := map[int]float64{}
	var pids []int
	slotOf := map[int]int{}
	for id := range slots {
		if id >= len(s.table.slots) {
			continue
		}
		for _, w := range []*worker{s.table.slots[id].w, s.table.slots[id].next} {
			if w != nil {
				pids = append(pids, w.p.PID())
				slotOf[w.p.PID()] = id
			}
		}
	}
	for pid, u := range s.sockets.cpu.Sample(pids, true) {
		bySlot[slotOf[pid]] += u.CPU
	}
	return bySlot
}

// resizeActive lets each packing group's packer size its active set from
// what the look saw (its accept queues, and the CPU of the workers that
// were active), and returns the changes by address.
func (s *Supervisor) resizeActive(looked map[string]activeLoad, serving []int) map[string]packChange {
	active := map[int]bool{}
	for _, g := range s.sockets.groups {
		if g.pack != nil {
			for _, id := range g.active {
				active[id] = true
			}
		}
	}
	if len(active) == 0 {
		return nil
	}
	cpu := s.activeCPU(active)
	changes := map[string]packChange{}
	for key, g := range s.sockets.groups {
		if g.pack == nil {
			continue
		}
		load := looked[key]
		for _, id := range g.active {
			load.cpu += cpu[id]
		}
		if c, ok := g.pack.observe(load, len(g.eligible(serving, len(s.table.slots)))); ok {
			changes[key] = c
		}
	}
	return changes
}
