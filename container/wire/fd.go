package wire

import (
	"errors"
	"syscall"
)

// FD is a bare descriptor its holder owns, to pass with Send. The agent
// keeps its listening sockets so: a descriptor no os.File or net.Listener
// wraps stays out of the runtime's poller (which would wake the process
// for every connection queued on a socket it never accepts from), and
// nothing can switch it to blocking mode behind the holder's back.
type FD int

// SyscallConn lets Send borrow the descriptor (only Control works).
func (fd FD) SyscallConn() (syscall.RawConn, error) { return rawFD(fd), nil }

type rawFD int

var errRawFD = errors.New("wire: a bare descriptor is only passed, never read or written")

func (fd rawFD) Control(f func(uintptr)) error { f(uintptr(fd)); return nil }
func (rawFD) Read(func(uintptr) bool) error    { return errRawFD }
func (rawFD) Write(func(uintptr) bool) error   { return errRawFD }
