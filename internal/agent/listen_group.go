package agent

import (
	"fmt"
	"net"
	"os"
	"slices"
)

// listenGroup is what the agent holds for one address the workers listen
// on: either one socket per slot, all bound to the address with
// SO_REUSEPORT and steered by a BPF program, or one socket every worker
// shares (where the kernel lacks what steering needs, and for Unix
// sockets). Only the run loop uses it.
type listenGroup struct {
	network string
	addr    net.Addr // the bound address

	// shared is the one socket of a shared group; perSlot and steer are
	// nil then.
	shared *rawListener

	perSlot map[int]rawListener // by slot id
	steer   *steerer
	serving []int               // scratch for eligible
	watch   map[int]*queueWatch // serving slots' accept queues (listen_stall.go)

	// pack sizes the active set (listen_pack.go); nil with
	// --steering=spread, where every eligible slot is active. active is
	// what new connections are steered to since the last update.
	pack   *packer
	active []int
}

// newSharedGroup binds the one socket of a shared group.
func newSharedGroup(network, address string) (*listenGroup, error) {
	var (
		l   rawListener
		err error
	)
	switch network {
	case "tcp", "tcp4", "tcp6":
		var a *net.TCPAddr
		if a, err = net.ResolveTCPAddr(network, address); err != nil {
			return nil, err
		}
		l, err = listenTCP(network, a, false)
	case "unix", "unixpacket":
		l, err = listenUnix(network, address)
	default:
		return nil, fmt.Errorf("network %q: the agent holds stream sockets only (tcp, tcp4, tcp6, unix, unixpacket)", network)
	}
	if err != nil {
		return nil, fmt.Errorf("listen %s %s: %w", network, address, err)
	}
	return &listenGroup{network: network, addr: l.addr, shared: &l}, nil
}

// newSlotGroup binds slot's socket of a per-slot group on a TCP address
// and attaches a new steerer. It first binds the address without
// SO_REUSEPORT, and lets that go, so that an address another process
// holds fails as it would with net.Listen instead of joining that
// process's SO_REUSEPORT group; it also resolves port 0.
func newSlotGroup(network, address string, slot int) (*listenGroup, error) {
	a, err := net.ResolveTCPAddr(network, address)
	if err != nil {
		return nil, err
	}
	probe, err := listenTCP(network, a, false)
	if err != nil {
		return nil, fmt.Errorf("listen %s %s: %w", network, address, err)
	}
	probe.close()
	bound := probe.addr.(*net.TCPAddr)
	if network == "tcp" && bound.IP.IsUnspecified() {
		bound.IP = nil // the same dual-stack wildcard
	}
	st, err := newSteerer()
	if err != nil {
		return nil, err
	}
	g := &listenGroup{network: network, addr: bound, perSlot: map[int]rawListener{}, steer: st}
	l, err := g.bindSlot(slot)
	if err == nil {
		err = st.attach(l.fd)
	}
	if err != nil {
		g.close()
		return nil, err
	}
	return g, nil
}

// socketFor returns the descriptor slot's worker gets, binding slot's
// socket on first use. The group keeps it.
func (g *listenGroup) socketFor(slot int) (int, error) {
	if g.shared != nil {
		return g.shared.fd, nil
	}
	if l, ok := g.perSlot[slot]; ok {
		return l.fd, nil
	}
	l, err := g.bindSlot(slot)
	if err != nil {
		return -1, err
	}
	return l.fd, nil
}

// bindSlot binds a new socket of the group for slot and puts it in the
// steering map, where it gets no connection before slot serves.
func (g *listenGroup) bindSlot(slot int) (rawListener, error) {
	l, err := listenTCP(g.network, g.addr.(*net.TCPAddr), true)
	if err != nil {
		return rawListener{}, fmt.Errorf("listen %s %s for worker %d: %w", g.network, g.addr, slot, err)
	}
	if err := g.steer.add(slot, l.fd); err != nil {
		l.close()
		return rawListener{}, err
	}
	g.perSlot[slot] = l
	return l, nil
}

// update steers new connections to the active slots among serving
// (increasing ids) — every eligible one, or the first ones when packing —,
// then lets go of the sockets of slots ≥ slots (scaled away). Steering
// away comes first; a socket let go stays open while its worker holds its
// copy, and when the last copy closes, the kernel moves the connections
// still queued on it to an active socket (see steerer).
func (g *listenGroup) update(serving []int, slots int) error {
	if g.shared != nil {
		return nil
	}
	active := g.eligible(serving, slots)
	if g.pack != nil {
		active = active[:g.pack.count(len(active))]
	}
	g.active = append(g.active[:0], active...)
	err := g.steer.steer(active)
	if err != nil {
		return err // keep every socket: one may still be steered to
	}
	for id, l := range g.perSlot {
		if id >= slots {
			g.steer.remove(id)
			l.close()
			delete(g.perSlot, id)
		}
	}
	return nil
}

// eligible returns the slots of serving (increasing ids) that may get new
// connections: those below slots with a socket here, stalled ones left
// out — unless all are: then the service is overloaded rather than one
// worker stuck, and every slot keeps its share. The slice is reused by the
// next call.
func (g *listenGroup) eligible(serving []int, slots int) []int {
	g.serving = g.serving[:0]
	stalled := 0
	for _, id := range serving {
		if _, ok := g.perSlot[id]; ok && id < slots {
			g.serving = append(g.serving, id)
			if g.stalled(id) {
				stalled++
			}
		}
	}
	if stalled > 0 && stalled < len(g.serving) {
		g.serving = slices.DeleteFunc(g.serving, g.stalled)
	}
	return g.serving
}

// close releases the group's sockets (and a Unix socket's file) and its
// steerer.
func (g *listenGroup) close() {
	if g.shared != nil {
		g.shared.close()
		if ua, ok := g.addr.(*net.UnixAddr); ok && ua.Name != "" && ua.Name[0] != '@' {
			os.Remove(ua.Name)
		}
	}
	for id, l := range g.perSlot {
		l.close()
		delete(g.perSlot, id)
	}
	if g.steer != nil {
		g.steer.close()
	}
}
