package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// This file holds the pure text parsers shared by every source: the command
// line, the manifest and the TARS config all hand them the same text.
// They return plain errors that say what is expected; the caller wraps them
// into a *UsageError naming the option and where the value came from.

// MaxInstances caps -i N, so that a typo cannot fork thousands of workers.
const MaxInstances = 4096

// parseBool accepts on/off, true/false and 1/0, case-insensitive.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "on", "true", "1":
		return true, nil
	case "off", "false", "0":
		return false, nil
	}
	return false, errors.New("want on, off, true, false, 1 or 0")
}

// SizeRule is the one rule of every size option, as the help states it.
const SizeRule = "a size needs a unit: B, K, M or G (base 1024), e.g. 4096B, 512K, 10M, 1.5G; a bare number other than 0 is refused"

// parseSize reads a size: a decimal number (fraction allowed: "1.5G") with a
// unit B, K, M or G (case-insensitive, base 1024; "10MB" is 10M). A bare
// number is refused, whatever the option (SizeRule), except 0. The result
// is rounded to the nearest byte and is never negative.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, errors.New("empty size: " + SizeRule)
	}
	if t == "0" {
		return 0, nil
	}
	mult := 0.0
	if n := len(t); n > 1 && (t[n-1] == 'b' || t[n-1] == 'B') {
		t, mult = t[:n-1], 1
	}
	switch t[len(t)-1] {
	case 'k', 'K':
		mult, t = 1<<10, t[:len(t)-1]
	case 'm', 'M':
		mult, t = 1<<20, t[:len(t)-1]
	case 'g', 'G':
		mult, t = 1<<30, t[:len(t)-1]
	}
	if !isDecimal(t) {
		return 0, fmt.Errorf("%q is not a size: %s", s, SizeRule)
	}
	if mult == 0 {
		return 0, fmt.Errorf("%q has no unit: %s", s, SizeRule)
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size: %w", s, err)
	}
	v := math.Round(f * mult)
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return int64(v), nil
}

// isDecimal reports whether s is digits with at most one inner decimal point
// ("12", "1.5"); it rules out the signs, exponents, hex, Inf and NaN that
// strconv.ParseFloat would accept.
func isDecimal(s string) bool {
	digits, dot := 0, -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && dot < 0:
			dot = i
		default:
			return false
		}
	}
	return digits > 0 && dot != 0 && dot != len(s)-1
}

// parseCount reads a non-negative decimal integer no larger than hi.
func parseCount(s string, hi int64) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" || strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n > hi {
		return 0, fmt.Errorf("%s is too large (at most %d)", t, hi)
	}
	return n, nil
}

// maxMillis bounds millisecond and second counts so durations never
// overflow: about 31 years.
const maxMillis = 1 << 40

// parseMillis reads a whole number of milliseconds.
func parseMillis(s string) (time.Duration, error) {
	n, err := parseCount(s, maxMillis)
	if err != nil {
		return 0, err
	}
	return time.Duration(n) * time.Millisecond, nil
}

// parseInstances reads -i: "auto", "max" (case-insensitive) or a count from 1
// to MaxInstances.
func parseInstances(s string) (InstancesMode, int, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "auto":
		return InstancesAuto, 0, nil
	case "max":
		return InstancesMax, 0, nil
	}
	n, err := parseCount(s, MaxInstances)
	if err != nil || n < 1 {
		return 0, 0, fmt.Errorf("want a number from 1 to %d, auto or max", MaxInstances)
	}
	return InstancesFixed, int(n), nil
}

// parseOffOrCount reads "off" (or 0) as 0, else a count from lo to hi; it
// serves --keepalive-time and --tars-monitor-http-threshold.
func parseOffOrCount(s string, lo, hi int64) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "off" || t == "0" {
		return 0, nil
	}
	n, err := parseCount(t, hi)
	if err != nil || n < lo {
		return 0, fmt.Errorf("want off or a number from %d to %d", lo, hi)
	}
	return n, nil
}

// ParseLevel reads a log level, case-insensitive, and returns it upper-case.
// The error names the valid levels.
func ParseLevel(s string) (Level, error) {
	l := Level(strings.ToUpper(strings.TrimSpace(s)))
	switch l {
	case LevelDebug, LevelInfo, LevelWarn, LevelError, LevelNone:
		return l, nil
	}
	return "", errors.New("want DEBUG, INFO, WARN, ERROR or NONE")
}

// parseEnv reads --env: a JSON object whose values are strings, numbers or
// booleans. Numbers keep their JSON spelling ("8080", "1.5"); booleans become
// "true"/"false". Keys must be usable as environment variable names.
func parseEnv(s string) (map[string]string, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("want a JSON object like {\"KEY\":\"value\"}: %w", err)
	}
	if raw == nil {
		return nil, errors.New("want a JSON object like {\"KEY\":\"value\"}, not null")
	}
	if err := dec.Decode(new(any)); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the JSON object")
	}
	env := make(map[string]string, len(raw))
	for k, v := range raw {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, fmt.Errorf("%q is not a valid environment variable name", k)
		}
		var text string
		switch v := v.(type) {
		case string:
			text = v
		case json.Number:
			text = v.String()
		case bool:
			text = strconv.FormatBool(v)
		default:
			return nil, fmt.Errorf("value of %q must be a string, number or boolean", k)
		}
		if strings.IndexByte(text, 0) >= 0 {
			return nil, fmt.Errorf("value of %q contains a NUL byte", k)
		}
		env[k] = text
	}
	return env, nil
}

// parseAddress reads a listening address: "IP:PORT", "[IPv6]:PORT",
// "host:PORT" or ":PORT" (every interface). The port is numeric, 1 to 65535.
// It returns the address in the form net.Listen takes ("[::1]:8080").
func parseAddress(s string) (string, error) {
	const want = "want IP:PORT, [IPv6]:PORT or host:PORT with a port from 1 to 65535"
	host, port, ok := splitHostPort(strings.TrimSpace(s))
	if !ok {
		return "", errors.New(want)
	}
	p, err := parseCount(port, 65535)
	if err != nil || p < 1 {
		return "", fmt.Errorf("bad port %q: %s", port, want)
	}
	if bracketed := strings.HasPrefix(strings.TrimSpace(s), "["); bracketed {
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return "", fmt.Errorf("bad host %q: brackets are for IPv6 addresses: %s", host, want)
		}
	}
	if host != "" {
		if a, err := netip.ParseAddr(host); err == nil {
			host = a.String()
		} else if strings.Contains(host, ":") || !isHostname(host) {
			return "", fmt.Errorf("bad host %q: %s", host, want)
		}
	}
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.FormatInt(p, 10), nil
	}
	return host + ":" + strconv.FormatInt(p, 10), nil
}

// splitHostPort splits "h:p" and "[h]:p"; unlike net.SplitHostPort it insists
// on brackets around an IPv6 literal and on a non-empty port.
func splitHostPort(s string) (host, port string, ok bool) {
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]:")
		if end < 0 || strings.ContainsAny(s[end+2:], "[]") {
			return "", "", false
		}
		return s[1:end], s[end+2:], end > 1 && s[end+2:] != ""
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.Contains(s[:i], ":") || strings.ContainsAny(s, "[]") || i == len(s)-1 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

// isHostname accepts DNS names: labels of letters, digits, '-' and '_'
// separated by dots.
func isHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// splitArgs splits --script-args and --node-args text on runs of white space;
// there is no quoting. A list from a manifest array is taken as is.
func splitArgs(s string) []string {
	return strings.Fields(s)
}

// lineCol converts a byte offset of data into a 1-based line and column.
func lineCol(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	if offset < 0 {
		offset = 0
	}
	before := data[:offset]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = 1 + len(before) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, col
}
