package agent

import (
	"time"

	"golang.org/x/sys/unix"
)

// A worker can stop accepting without exiting (stopped, starved, stuck):
// with a shared socket the others took its share, with one socket per
// slot its share of new connections would wait on its socket until the
// keepalive check kills it (minutes by default). So the agent looks at the
// accept queue of every serving slot's socket every stallCheckInterval, and
// a slot whose queue is not empty and has not shrunk at stallChecks looks
// in a row, while another serving slot's queue was empty (so the service
// as a whole is not simply overloaded), is stalled: new connections go to
// the other slots until its queue is empty again (its worker accepted
// what waited for it, or its replacement did). Nothing queued is lost
// either way.
const (
	stallCheckInterval = time.Second
	stallChecks        = 3
)

// queueCheckDue fires when the accept queues are due for a look.
type queueCheckDue struct{}

// queueWatch follows the accept queue of one slot's socket.
type queueWatch struct {
	last    int // queue length at the previous look
	streak  int // looks in a row at a non-empty queue that did not shrink
	stalled bool
}

// stallChange is a slot that became stalled, or stopped being.
type stallChange struct {
	slot, queued int
	stalled      bool
}

// acceptQueue returns the connections waiting on fd, a listening TCP
// socket, for an accept (tcpi_unacked of a listener), or -1.
func acceptQueue(fd int) int {
	info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return -1
	}
	return int(info.Unacked)
}

// look updates the watch of the serving slots' queues and returns the
// slots whose stalled state changed, and what it saw of the slots that
// were active since the previous look.
func (g *listenGroup) look(serving []int) ([]stallChange, activeLoad) {
	if g.shared != nil {
		return nil, activeLoad{}
	}
	if g.watch == nil {
		g.watch = map[int]*queueWatch{}
	}
	queued := map[int]int{}
	for _, id := range serving {
		if l, ok := g.perSlot[id]; ok {
			if q := acceptQueue(l.fd); q >= 0 {
				queued[id] = q
			}
		}
	}
	for id := range g.watch {
		if _, ok := queued[id]; !ok {
			delete(g.watch, id) // no longer serving: crashed, stopping, gone
		}
	}
	load := activeLoad{active: len(g.active)}
	for _, id := range g.active {
		if w := g.watch[id]; w != nil && w.last > 0 && queued[id] > 0 {
			load.backlogged++
		}
	}
	// An active slot that kept up says the service is not simply
	// overloaded; a slot that got no connection says nothing.
	otherEmpty := func(self int) bool {
		for _, id := range g.active {
			if q, ok := queued[id]; ok && id != self && q == 0 && !g.stalled(id) {
				return true
			}
		}
		return false
	}
	for id := range queued {
		if g.watch[id] == nil {
			g.watch[id] = &queueWatch{}
		}
	}
	var changes []stallChange
	for id, q := range queued {
		w := g.watch[id]
		switch {
		case q == 0:
			if w.stalled {
				changes = append(changes, stallChange{slot: id})
			}
			*w = queueWatch{}
			continue
		case w.last > 0 && q >= w.last:
			w.streak++
		default:
			w.streak = 0
		}
		w.last = q
		if !w.stalled && w.streak >= stallChecks-1 && otherEmpty(id) {
			w.stalled = true
			changes = append(changes, stallChange{slot: id, queued: q, stalled: true})
		}
	}
	return changes, load
}

// stalled tells whether slot is stalled here.
func (g *listenGroup) stalled(slot int) bool {
	w := g.watch[slot]
	return w != nil && w.stalled
}

// armQueueCheck arms the next look at the accept queues, while some
// address has one socket per slot.
func (s *Supervisor) armQueueCheck() {
	if s.sockets.checkArmed || s.stopping || !s.sockets.perSlot() {
		return
	}
	s.sockets.checkArmed = true
	s.sys.clock.AfterFunc(stallCheckInterval, func() { s.post(queueCheckDue{}) })
}

// onQueueCheck looks at the serving slots' accept queues, sizes the
// packing groups' active sets, steers accordingly at once, then logs the
// slots that became stalled or recovered and the sets that changed: once
// the line is written, new connections already follow it.
func (s *Supervisor) onQueueCheck() {
	s.sockets.checkArmed = false
	serving := s.servingSlots()
	type keyed struct {
		key string
		stallChange
	}
	var changes []keyed
	looked := map[string]activeLoad{}
	for key, g := range s.sockets.groups {
		stalls, load := g.look(serving)
		for _, c := range stalls {
			changes = append(changes, keyed{key, c})
		}
		looked[key] = load
	}
	resized := s.resizeActive(looked, serving)
	if len(changes) > 0 || len(resized) > 0 {
		s.sockets.update(serving, len(s.table.slots))
	}
	for _, c := range changes {
		pid := 0
		if w := s.table.slots[c.slot].w; w != nil {
			pid = w.p.PID()
		}
		if c.stalled {
			s.log.warn("worker %d (pid %d) has not taken the %d connections waiting on %s for %v: new connections go to the other workers until it does",
				c.slot, pid, c.queued, c.key, (stallChecks-1)*stallCheckInterval)
		} else {
			s.log.info("worker %d (pid %d) accepts again on %s", c.slot, pid, c.key)
		}
	}
	for key, c := range resized {
		s.log.info("new connections on %s go to %d of the %d ready workers, were %d (%s)", key, c.to, c.ready, c.from, c.why)
	}
	s.armQueueCheck()
}
