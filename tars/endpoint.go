package tars

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// DefaultEndpointTimeout is the -t value assumed when an endpoint has none.
const DefaultEndpointTimeout = 3 * time.Second

// Endpoint is a parsed endpoint string:
//
//	tcp|udp|ssl -h HOST -p PORT [-t TIMEOUT_MS] [-g GRID] [-q QOS] [-w WEIGHT]
//	            [-v WEIGHTTYPE] [-e AUTHTYPE] [-b BIND] [-x value ...]
//
// Options other than -h and -p are optional; unknown `-x value` options are
// kept in Extra (in order) and written back by String.
type Endpoint struct {
	Protocol   string        // "tcp", "udp" or "ssl" (TLS over TCP)
	Host       string        // -h, required
	Port       int           // -p, 0..65535 (0 when absent)
	Timeout    time.Duration // -t in ms; 0 = not given (see TimeoutOrDefault)
	Grid       int           // -g
	Qos        int           // -q
	Weight     int           // -w
	WeightType int           // -v
	AuthType   int           // -e
	Bind       string        // -b: local address to bind
	Extra      []EndpointOption
}

// EndpointOption is an option ParseEndpoint does not interpret.
type EndpointOption struct {
	Flag  string // without the dash
	Value string
}

// TimeoutOrDefault returns Timeout, or DefaultEndpointTimeout when unset.
func (e Endpoint) TimeoutOrDefault() time.Duration {
	if e.Timeout <= 0 {
		return DefaultEndpointTimeout
	}
	return e.Timeout
}

// Network returns the Go network name: "tcp" (also for ssl) or "udp".
func (e Endpoint) Network() string {
	if e.Protocol == "udp" {
		return "udp"
	}
	return "tcp"
}

// Address returns host:port for net.Dial/net.Listen ([v6]:port for IPv6).
func (e Endpoint) Address() string {
	return net.JoinHostPort(e.Host, strconv.Itoa(e.Port))
}

// String formats the endpoint in canonical form (zero-valued options left out).
func (e Endpoint) String() string {
	var b strings.Builder
	b.WriteString(e.Protocol)
	b.WriteString(" -h ")
	b.WriteString(e.Host)
	b.WriteString(" -p ")
	b.WriteString(strconv.Itoa(e.Port))
	if e.Timeout > 0 {
		fmt.Fprintf(&b, " -t %d", e.Timeout.Milliseconds())
	}
	opt := func(flag string, v int) {
		if v != 0 {
			fmt.Fprintf(&b, " -%s %d", flag, v)
		}
	}
	opt("g", e.Grid)
	opt("q", e.Qos)
	opt("w", e.Weight)
	opt("v", e.WeightType)
	opt("e", e.AuthType)
	if e.Bind != "" {
		b.WriteString(" -b ")
		b.WriteString(e.Bind)
	}
	for _, x := range e.Extra {
		b.WriteString(" -")
		b.WriteString(x.Flag)
		if x.Value != "" {
			b.WriteString(" ")
			b.WriteString(x.Value)
		}
	}
	return b.String()
}

func endpointErr(s, format string, args ...any) error {
	return fmt.Errorf("tars: endpoint %q: %s: %w", s, fmt.Sprintf(format, args...), ErrEndpoint)
}

func isProtocol(s string) bool { return s == "tcp" || s == "udp" || s == "ssl" }

// ParseEndpoint parses one endpoint string. Tokens are separated by any
// whitespace; the protocol keyword is case-insensitive.
func ParseEndpoint(s string) (Endpoint, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return Endpoint{}, endpointErr(s, "empty")
	}
	e := Endpoint{Protocol: strings.ToLower(f[0])}
	if !isProtocol(e.Protocol) {
		return Endpoint{}, endpointErr(s, "protocol %q, want tcp, udp or ssl", f[0])
	}
	var hasHost bool
	for i := 1; i < len(f); i++ {
		tok := f[i]
		if !isOption(tok) {
			return Endpoint{}, endpointErr(s, "unexpected %q, want an option such as -h", tok)
		}
		flag := tok[1:]
		var val string
		hasVal := i+1 < len(f) && !isOption(f[i+1])
		if hasVal {
			val = f[i+1]
			i++
		}
		num := func() (int, error) {
			if !hasVal {
				return 0, endpointErr(s, "-%s needs a value", flag)
			}
			n, err := strconv.Atoi(val)
			if err != nil {
				return 0, endpointErr(s, "-%s %q is not a number", flag, val)
			}
			return n, nil
		}
		var err error
		switch flag {
		case "h":
			if !hasVal {
				return Endpoint{}, endpointErr(s, "-h needs a host")
			}
			e.Host, hasHost = val, true
		case "p":
			if e.Port, err = num(); err == nil && (e.Port < 0 || e.Port > 65535) {
				err = endpointErr(s, "port %d out of range 0..65535", e.Port)
			}
		case "t":
			var ms int
			if ms, err = num(); err == nil {
				if ms < 0 {
					err = endpointErr(s, "negative timeout %d", ms)
				}
				e.Timeout = time.Duration(ms) * time.Millisecond
			}
		case "g":
			e.Grid, err = num()
		case "q":
			e.Qos, err = num()
		case "w":
			e.Weight, err = num()
		case "v":
			e.WeightType, err = num()
		case "e":
			e.AuthType, err = num()
		case "b":
			if !hasVal {
				return Endpoint{}, endpointErr(s, "-b needs an address")
			}
			e.Bind = val
		default:
			e.Extra = append(e.Extra, EndpointOption{Flag: flag, Value: val})
		}
		if err != nil {
			return Endpoint{}, err
		}
	}
	if !hasHost {
		return Endpoint{}, endpointErr(s, "missing -h HOST")
	}
	return e, nil
}

// isOption reports whether tok is an option name: '-' and a letter. Any
// other token after an option ("-1", "-", "x") is that option's value.
func isOption(tok string) bool {
	return len(tok) >= 2 && tok[0] == '-' && (tok[1]|0x20 >= 'a' && tok[1]|0x20 <= 'z')
}

// ToEndpointF converts e to the registry's form.
func (e Endpoint) ToEndpointF() EndpointF {
	f := EndpointF{Host: e.Host, Port: int32(e.Port), Timeout: int32(e.Timeout.Milliseconds()),
		IsTCP: EndpointTCP, Grid: int32(e.Grid), Qos: int32(e.Qos),
		Weight: int32(e.Weight), WeightType: int32(e.WeightType), AuthType: int32(e.AuthType)}
	switch e.Protocol {
	case "udp":
		f.IsTCP = EndpointUDP
	case "ssl":
		f.IsTCP = EndpointSSL
	}
	return f
}

// EndpointFromF converts a registry endpoint.
func EndpointFromF(f EndpointF) Endpoint {
	e := Endpoint{Protocol: "tcp", Host: f.Host, Port: int(f.Port),
		Timeout: time.Duration(f.Timeout) * time.Millisecond, Grid: int(f.Grid), Qos: int(f.Qos),
		Weight: int(f.Weight), WeightType: int(f.WeightType), AuthType: int(f.AuthType)}
	switch f.IsTCP {
	case EndpointUDP:
		e.Protocol = "udp"
	case EndpointSSL:
		e.Protocol = "ssl"
	}
	return e
}

// Proxy is an object reference: a servant name and, for a direct reference,
// its endpoints ("Servant@ep:ep"). A Proxy without endpoints is resolved
// through the locator.
type Proxy struct {
	Servant   string
	Endpoints []Endpoint
}

// Direct reports whether p names its endpoints (no locator needed).
func (p Proxy) Direct() bool { return len(p.Endpoints) > 0 }

// String formats p as "Servant@ep:ep" (or just the servant name).
func (p Proxy) String() string {
	if len(p.Endpoints) == 0 {
		return p.Servant
	}
	parts := make([]string, len(p.Endpoints))
	for i, e := range p.Endpoints {
		parts[i] = e.String()
	}
	return p.Servant + "@" + strings.Join(parts, ":")
}

// ParseProxy parses "Servant", "Servant@endpoint" or
// "Servant@endpoint:endpoint...". Endpoints are split where a ':' is
// followed by a protocol keyword, so IPv6 hosts ("-h ::1") survive.
func ParseProxy(s string) (Proxy, error) {
	str := strings.TrimSpace(s)
	servant, eps, hasAt := strings.Cut(str, "@")
	servant = strings.TrimSpace(servant)
	if servant == "" {
		return Proxy{}, fmt.Errorf("tars: proxy %q: missing servant name: %w", s, ErrEndpoint)
	}
	if strings.ContainsAny(servant, " \t\r\n:") {
		return Proxy{}, fmt.Errorf("tars: proxy %q: servant name %q contains a space or ':': %w", s, servant, ErrEndpoint)
	}
	p := Proxy{Servant: servant}
	if !hasAt {
		return p, nil
	}
	parts := splitEndpoints(eps)
	if len(parts) == 0 {
		return Proxy{}, fmt.Errorf("tars: proxy %q: no endpoint after '@': %w", s, ErrEndpoint)
	}
	for _, part := range parts {
		e, err := ParseEndpoint(part)
		if err != nil {
			return Proxy{}, fmt.Errorf("tars: proxy %q: %w", s, err)
		}
		p.Endpoints = append(p.Endpoints, e)
	}
	return p, nil
}

// splitEndpoints splits "ep:ep" at each ':' that is followed (after optional
// spaces) by a protocol keyword that ends a token.
func splitEndpoints(s string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] != ':' {
			continue
		}
		rest := strings.TrimLeft(s[i+1:], " \t\r\n\v\f")
		if len(rest) >= 3 && isProtocol(strings.ToLower(rest[:3])) && (len(rest) == 3 || isSpace(rest[3])) {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	parts = append(parts, s[start:])
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}
