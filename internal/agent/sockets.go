package agent

import (
	"errors"
	"net"

	"github.com/nodeagent/node-agent/container/wire"
	"github.com/nodeagent/node-agent/internal/agent/config"
	"github.com/nodeagent/node-agent/internal/monitor"
)

// sockets are the listening sockets the agent holds for its workers, by
// address: bound the first time a worker asks for the address, kept for
// the agent's lifetime. For a TCP address each slot has its own socket,
// all in one SO_REUSEPORT group that a BPF program steers (listenGroup,
// steerer); where the kernel does not allow that, every worker of an
// address shares one socket (and the agent logs why, once). Only the run
// loop uses it.
type sockets struct {
	httpAddress string
	log         agentLog
	groups      map[string]*listenGroup

	// sharedWhy is why TCP addresses get one shared socket ("" = one
	// socket per slot); loggedWhy is set once it was logged.
	sharedWhy string
	loggedWhy bool

	serving    []int // scratch for steer
	checkArmed bool  // a look at the accept queues is due (listen_stall.go)

	// steering is --steering; with pack, each per-slot group packs new
	// connections on an active set of at least packFloor slots, halved
	// after packQuiet quiet looks (listen_pack.go), and cpu samples the
	// active workers' CPU.
	steering             config.Steering
	packFloor, packQuiet int
	cpu                  *monitor.Sampler
}

func newSockets(httpAddress string, steering config.Steering, log agentLog) *sockets {
	return &sockets{httpAddress: httpAddress, log: log, groups: map[string]*listenGroup{},
		steering: steering, packFloor: packFloor(), packQuiet: packQuietLooks}
}

// errNoHTTPAddress is get's answer to the address "" without
// --http-address: the worker is told so and picks its own address.
var errNoHTTPAddress = errors.New("no --http-address is configured")

// get returns the descriptor of the socket slot's worker listens on for
// network and address ("" = the http address, errNoHTTPAddress when there
// is none), and the bound address. It binds the address on first use. The
// descriptor stays owned by sockets.
func (s *sockets) get(network, address string, slot int) (wire.FD, string, error) {
	if address == "" {
		if s.httpAddress == "" {
			return -1, "", errNoHTTPAddress
		}
		address = s.httpAddress
	}
	key := network + " " + address
	g, ok := s.groups[key]
	if !ok {
		var err error
		if g, err = s.bind(network, address, slot); err != nil {
			return -1, "", err
		}
		s.groups[key] = g
	}
	fd, err := g.socketFor(slot)
	if err != nil {
		return -1, "", err
	}
	return wire.FD(fd), g.addr.String(), nil
}

// bind makes the group of a new address: one socket per slot for TCP
// while the kernel allows steering them, one shared socket otherwise. The
// first TCP address that gets a shared socket logs why, once.
func (s *sockets) bind(network, address string, slot int) (*listenGroup, error) {
	tcp := network == "tcp" || network == "tcp4" || network == "tcp6"
	if tcp && s.sharedWhy == "" {
		g, err := newSlotGroup(network, address, slot)
		var se *steeringErr
		if !errors.As(err, &se) {
			return g, err // per-slot sockets, or the address itself failed
		}
		s.sharedWhy = err.Error()
	}
	if tcp && !s.loggedWhy {
		s.loggedWhy = true
		s.log.warn("listening sockets: every worker shares one socket per address, so each connection wakes every worker: %s", s.sharedWhy)
	}
	return newSharedGroup(network, address)
}

// update steers each address's new connections to the slots of serving
// (ids in increasing order) and lets go of the sockets of slots ≥ slots.
func (s *sockets) update(serving []int, slots int) {
	for key, g := range s.groups {
		if g.steer != nil && g.pack == nil && s.steering != config.SteeringSpread {
			g.pack = newPacker(s.packFloor, s.packQuiet) // a new group, or one handed over
			s.log.info("new connections on %s go to the fewest ready workers that keep up, at least %d (--steering=pack)", key, g.pack.floor)
		}
		if err := g.update(serving, slots); err != nil {
			s.log.error("steering connections on %s: %v", key, err)
		}
	}
}

// close releases every socket.
func (s *sockets) close() {
	for k, g := range s.groups {
		g.close()
		delete(s.groups, k)
	}
	if s.cpu != nil {
		s.cpu.Close()
		s.cpu = nil
	}
}

// CheckAddress tells whether address can be bound now, so a bad
// --http-address is a startup error rather than a failure in every worker.
func CheckAddress(address string) error {
	ln, err := net.Listen("tcp", address)
	if err != nil {
		return err
	}
	return ln.Close()
}

// steer tells the sockets which slots serve now: those whose worker, or
// replacement, is ready. Connections go to those only, so none waits on
// the socket of a crashed, stopping or starting worker while another
// could take it. Run calls it after every event.
func (s *Supervisor) steer() {
	if len(s.sockets.groups) == 0 {
		return
	}
	s.sockets.update(s.servingSlots(), len(s.table.slots))
	s.armQueueCheck()
}

// servingSlots returns the ids of the slots whose worker, or replacement,
// is ready, in increasing order. The slice is reused by the next call.
func (s *Supervisor) servingSlots() []int {
	ids := s.sockets.serving[:0]
	for _, sl := range s.table.slots {
		if (sl.w != nil && sl.w.state == Ready) || (sl.next != nil && sl.next.state == Ready) {
			ids = append(ids, sl.id)
		}
	}
	s.sockets.serving = ids
	return ids
}

// perSlot tells whether some address has one socket per slot.
func (s *sockets) perSlot() bool {
	for _, g := range s.groups {
		if g.shared == nil {
			return true
		}
	}
	return false
}
