package container

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// unread returns how many received bytes of c wait in its socket's receive
// buffer, not yet read by the server (SIOCINQ); 0 when c has no descriptor
// (a TLS connection, a pipe) or the query fails.
func unread(c net.Conn) int {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	rc.Control(func(fd uintptr) {
		if v, err := unix.IoctlGetInt(int(fd), unix.SIOCINQ); err == nil {
			n = v
		}
	})
	return n
}
