package container

import (
	"fmt"
	"net"
	"os"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
)

// ListenTimeout bounds the wait for the agent's answer to a Listen.
const ListenTimeout = 10 * time.Second

// Listen returns a listener for network and address. Under an agent, the
// agent binds the address and passes the socket: for TCP, each worker slot
// has its own socket of one SO_REUSEPORT group, which the agent steers so
// that a connection wakes one worker (or, where the kernel does not allow
// that, one socket shared by every worker). The agent keeps the socket, so
// it outlives any one worker and restarts refuse nothing. The address
// "" means the service's http address (--http-address), and fails with
// ErrNoAddress when the agent has none. Standalone, Listen is net.Listen;
// "" means $IP:$PORT and fails with ErrNoAddress when PORT is unset.
//
// On ErrNoAddress a service listens on its own default address, still
// through Listen, so that under an agent that address is the agent's too:
//
//	ln, err := w.Listen("tcp", "")
//	if errors.Is(err, container.ErrNoAddress) {
//		ln, err = w.Listen("tcp", "127.0.0.1:8080")
//	}
//
// The first Accept on the returned listener marks the worker ready.
// Closing the listener closes this worker's copy only.
func (w *Worker) Listen(network, address string) (net.Listener, error) {
	var (
		ln  net.Listener
		err error
	)
	if w.conn == nil {
		ln, err = listenStandalone(network, address)
	} else {
		ln, err = w.listenShared(network, address)
	}
	if err != nil {
		return nil, err
	}
	return &readyListener{Listener: ln, w: w}, nil
}

func listenStandalone(network, address string) (net.Listener, error) {
	if address == "" {
		port := os.Getenv("PORT")
		if port == "" {
			return nil, ErrNoAddress
		}
		address = net.JoinHostPort(os.Getenv("IP"), port)
	}
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, fmt.Errorf("container: %w", err)
	}
	return ln, nil
}

func (w *Worker) listenShared(network, address string) (net.Listener, error) {
	id := w.requestID.Add(1)
	m, err := w.request(wire.KindListen, id, wire.Listen{ID: id, Network: network, Address: address}, ListenTimeout)
	if err != nil {
		return nil, fmt.Errorf("container: listen on %q: %w", address, err)
	}
	defer closeFiles(m)
	var r wire.ListenResult
	if err := m.Decode(&r); err != nil {
		return nil, fmt.Errorf("container: %w", err)
	}
	if r.NoAddress {
		return nil, ErrNoAddress
	}
	if r.Error != "" {
		return nil, fmt.Errorf("container: the agent could not listen on %q: %s", address, r.Error)
	}
	if len(m.Files) != 1 {
		return nil, fmt.Errorf("container: the agent's answer to a listen on %q carried %d sockets", address, len(m.Files))
	}
	// The socket's open file description, and so its O_NONBLOCK flag, is
	// shared with the agent and every other worker: nothing here may make
	// it blocking. The received file is a plain os.NewFile, whose Fd (which
	// FileListener calls) leaves the mode alone; the listener is a
	// non-blocking duplicate.
	ln, err := net.FileListener(m.Files[0])
	if err != nil {
		return nil, fmt.Errorf("container: shared socket for %q: %w", address, err)
	}
	return ln, nil
}

// readyListener marks the worker ready on its first Accept: a worker that
// accepts serves, whether or not a connection is waiting.
type readyListener struct {
	net.Listener
	w *Worker
}

func (l *readyListener) Accept() (net.Conn, error) {
	l.w.Ready()
	return l.Listener.Accept()
}
