package agent

import (
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// listenBacklog asks for the largest accept queue; the kernel caps it at
// net.core.somaxconn, as Go's net.Listen does.
const listenBacklog = 65535

// rawListener is a listening socket made with raw system calls: a bare
// descriptor, non-blocking and close-on-exec, that no os.File or
// net.Listener wraps. The agent never accepts on it, so it stays out of
// the runtime's poller and a connection never wakes the agent; the
// workers' copies share its open file description, whose non-blocking
// mode nothing in the agent ever changes.
type rawListener struct {
	fd   int
	addr net.Addr // the bound address (the port chosen for port 0)
}

func (l rawListener) close() { unix.Close(l.fd) }

// listenTCP binds a TCP socket to addr for network ("tcp", "tcp4",
// "tcp6") and listens. reusePort sets SO_REUSEPORT, so that several
// sockets of the agent bind the same address and form one group. The
// family follows Go's net.Listen: a wildcard address under "tcp" listens
// on both IPv6 and IPv4 where the host has IPv6.
func listenTCP(network string, addr *net.TCPAddr, reusePort bool) (rawListener, error) {
	family := unix.AF_INET6
	switch {
	case network == "tcp4", network == "tcp" && addr.IP.To4() != nil && !addr.IP.IsUnspecified():
		family = unix.AF_INET
	}
	l, err := listenTCPFamily(family, network, addr, reusePort)
	if family == unix.AF_INET6 && network == "tcp" && (addr.IP == nil || addr.IP.To4() != nil) && errors.Is(err, unix.EAFNOSUPPORT) {
		return listenTCPFamily(unix.AF_INET, network, addr, reusePort) // no IPv6 on this host
	}
	return l, err
}

func listenTCPFamily(family int, network string, addr *net.TCPAddr, reusePort bool) (rawListener, error) {
	var sa unix.Sockaddr
	if family == unix.AF_INET {
		sa4 := &unix.SockaddrInet4{Port: addr.Port}
		if ip := addr.IP.To4(); ip != nil {
			copy(sa4.Addr[:], ip)
		}
		sa = sa4
	} else {
		sa6 := &unix.SockaddrInet6{Port: addr.Port}
		if addr.IP != nil && !addr.IP.Equal(net.IPv4zero) {
			copy(sa6.Addr[:], addr.IP.To16())
		}
		if addr.Zone != "" {
			if ifi, err := net.InterfaceByName(addr.Zone); err == nil {
				sa6.ZoneId = uint32(ifi.Index)
			}
		}
		sa = sa6
	}
	return listenRaw(family, unix.SOCK_STREAM, sa, func(fd int) error {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return err
		}
		if family == unix.AF_INET6 {
			// Dual stack unless tcp6 was asked for, as net.Listen does.
			v6only := 0
			if network == "tcp6" {
				v6only = 1
			}
			if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only); err != nil {
				return err
			}
		}
		if reusePort {
			return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}
		return nil
	})
}

// listenUnix binds a Unix socket (network "unix" or "unixpacket") at path.
func listenUnix(network, path string) (rawListener, error) {
	typ := unix.SOCK_STREAM
	if network == "unixpacket" {
		typ = unix.SOCK_SEQPACKET
	}
	return listenRaw(unix.AF_UNIX, typ, &unix.SockaddrUnix{Name: path}, nil)
}

// listenRaw creates a socket, lets options set it up, binds it to sa and
// listens.
func listenRaw(family, typ int, sa unix.Sockaddr, options func(fd int) error) (rawListener, error) {
	fd, err := unix.Socket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return rawListener{}, fmt.Errorf("socket: %w", err)
	}
	fail := func(op string, err error) (rawListener, error) {
		unix.Close(fd)
		return rawListener{}, fmt.Errorf("%s: %w", op, err)
	}
	if options != nil {
		if err := options(fd); err != nil {
			return fail("setsockopt", err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	if err := unix.Listen(fd, listenBacklog); err != nil {
		return fail("listen", err)
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	return rawListener{fd: fd, addr: sockaddrToAddr(bound)}, nil
}

func sockaddrToAddr(sa unix.Sockaddr) net.Addr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]).To16(), Port: sa.Port}
	case *unix.SockaddrInet6:
		a := &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}
		if sa.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(sa.ZoneId)); err == nil {
				a.Zone = ifi.Name
			}
		}
		return a
	case *unix.SockaddrUnix:
		return &net.UnixAddr{Name: sa.Name, Net: "unix"}
	}
	return nil
}
