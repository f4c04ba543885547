package agent

import (
	"errors"
	"fmt"
	"net"
	"os"
)

// sockets are the listening sockets the agent holds for its workers: bound
// the first time a worker asks, kept for the agent's lifetime, shared by
// every worker that asks for the same address. Only the run loop uses it.
type sockets struct {
	httpAddress string
	files       map[string]*os.File
}

func newSockets(httpAddress string) *sockets {
	return &sockets{httpAddress: httpAddress, files: map[string]*os.File{}}
}

// errNoHTTPAddress is get's answer to the address "" without
// --http-address: the worker is told so and picks its own address.
var errNoHTTPAddress = errors.New("no --http-address is configured")

// get returns the socket for network and address ("" = the http address,
// errNoHTTPAddress when there is none), binding it on first use. The
// returned file stays owned by sockets.
func (s *sockets) get(network, address string) (*os.File, string, error) {
	if address == "" {
		if s.httpAddress == "" {
			return nil, "", errNoHTTPAddress
		}
		address = s.httpAddress
	}
	key := network + " " + address
	if f, ok := s.files[key]; ok {
		return f, address, nil
	}
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, "", err
	}
	defer ln.Close() // the duplicate below keeps the socket open
	fl, ok := ln.(interface{ File() (*os.File, error) })
	if !ok {
		return nil, "", fmt.Errorf("%s listener has no descriptor", network)
	}
	f, err := fl.File()
	if err != nil {
		return nil, "", err
	}
	s.files[key] = f
	return f, ln.Addr().String(), nil
}

// close releases every socket.
func (s *sockets) close() {
	for k, f := range s.files {
		f.Close()
		delete(s.files, k)
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
