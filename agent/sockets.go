package agent

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/nodeagent/node-agent/container/wire"
	"golang.org/x/sys/unix"
)

// sockets are the listening sockets the agent holds for its workers: bound
// the first time a worker asks, kept for the agent's lifetime, shared by
// every worker that asks for the same address. Only the run loop uses it.
//
// The agent keeps each as a bare descriptor (wire.FD), never an os.File:
// it never accepts, so the socket stays out of its poller, and nothing in
// the agent can switch the socket's open file description — shared by
// every worker — to blocking mode (see wire.Conn.Send).
type sockets struct {
	httpAddress string
	fds         map[string]boundSocket
}

type boundSocket struct {
	fd      wire.FD
	address string
}

func newSockets(httpAddress string) *sockets {
	return &sockets{httpAddress: httpAddress, fds: map[string]boundSocket{}}
}

// errNoHTTPAddress is get's answer to the address "" without
// --http-address: the worker is told so and picks its own address.
var errNoHTTPAddress = errors.New("no --http-address is configured")

// get returns the socket for network and address ("" = the http address,
// errNoHTTPAddress when there is none) and the address it is bound to,
// binding it on first use. The descriptor stays owned by sockets.
func (s *sockets) get(network, address string) (wire.FD, string, error) {
	if address == "" {
		if s.httpAddress == "" {
			return -1, "", errNoHTTPAddress
		}
		address = s.httpAddress
	}
	key := network + " " + address
	if b, ok := s.fds[key]; ok {
		return b.fd, b.address, nil
	}
	fd, bound, err := bindSocket(network, address)
	if err != nil {
		return -1, "", err
	}
	s.fds[key] = boundSocket{fd: fd, address: bound}
	return fd, bound, nil
}

// bindSocket listens on address and returns a close-on-exec duplicate of
// the socket, taken without changing its mode.
func bindSocket(network, address string) (wire.FD, string, error) {
	ln, err := net.Listen(network, address)
	if err != nil {
		return -1, "", err
	}
	defer ln.Close() // the duplicate keeps the socket open
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return -1, "", fmt.Errorf("%s listener has no descriptor", network)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, "", err
	}
	dup := -1
	var dupErr error
	if err := rc.Control(func(fd uintptr) {
		dup, dupErr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, "", err
	}
	if dupErr != nil {
		return -1, "", fmt.Errorf("duplicating the %s socket: %w", network, dupErr)
	}
	return wire.FD(dup), ln.Addr().String(), nil
}

// close releases every socket.
func (s *sockets) close() {
	for k, b := range s.fds {
		unix.Close(int(b.fd))
		delete(s.fds, k)
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
