package tars

import (
	"fmt"
	"net"
	"net/netip"
	"path"
	"strings"
)

// AllowList is the allow list of a server adapter (the `allow` key of an
// adapter section): which remote addresses may connect besides the host
// itself. The zero value allows no remote address.
type AllowList struct {
	addrs    []netip.Addr
	prefixes []netip.Prefix
	patterns []string // path.Match patterns such as "10.0.*"
}

// ParseAllowList parses entries separated by ';' or ',' (spaces around them
// ignored, empty entries skipped). An entry is an IP address ("10.0.0.5",
// "::1"), a CIDR prefix ("10.0.0.0/24") or a pattern in which '*' matches
// any run of characters ("10.0.*", the TarsCpp style). Anything else is an
// error wrapping ErrAllowList that names the entry.
func ParseAllowList(s string) (AllowList, error) {
	var a AllowList
	for _, e := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' }) {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
		case strings.Contains(e, "/"):
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return AllowList{}, fmt.Errorf("tars: allow entry %q is not a CIDR prefix: %w", e, ErrAllowList)
			}
			a.prefixes = append(a.prefixes, p.Masked())
		case strings.Contains(e, "*"):
			if strings.Trim(e, "0123456789abcdefABCDEF.:*") != "" {
				return AllowList{}, fmt.Errorf("tars: allow entry %q: a pattern may hold only digits, '.', ':' and '*': %w", e, ErrAllowList)
			}
			a.patterns = append(a.patterns, e)
		default:
			ip, err := netip.ParseAddr(e)
			if err != nil {
				return AllowList{}, fmt.Errorf("tars: allow entry %q is not an IP address: %w", e, ErrAllowList)
			}
			a.addrs = append(a.addrs, ip.Unmap())
		}
	}
	return a, nil
}

// Empty reports whether the list names nothing.
func (a AllowList) Empty() bool {
	return len(a.addrs) == 0 && len(a.prefixes) == 0 && len(a.patterns) == 0
}

// Contains reports whether ip is on the list.
func (a AllowList) Contains(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, x := range a.addrs {
		if x == ip {
			return true
		}
	}
	for _, p := range a.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	text := ip.String()
	for _, p := range a.patterns {
		if ok, _ := path.Match(p, text); ok {
			return true
		}
	}
	return false
}

// admits reports whether a connection from remote to local may be served:
// the host itself (a loopback address, or the very address the connection
// arrived on, i.e. the peer is on this host) always may; any other peer
// only when it is on the list.
func (a AllowList) admits(remote, local net.Addr) bool {
	r, ok := addrIP(remote)
	if !ok {
		return true // not an IP transport (a pipe in tests): nothing to filter
	}
	if r.IsLoopback() {
		return true
	}
	if l, ok := addrIP(local); ok && l == r {
		return true
	}
	return a.Contains(r)
}

func addrIP(a net.Addr) (netip.Addr, bool) {
	if t, ok := a.(*net.TCPAddr); ok {
		ip, ok := netip.AddrFromSlice(t.IP)
		return ip.Unmap(), ok
	}
	return netip.Addr{}, false
}
