package logs

import (
	"bytes"
	"strings"
	"sync"
)

// memory is a Destination keeping what it is given, call by call.
type memory struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	calls   int
	records int
}

func (m *memory) WriteRecords(b []byte, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.buf.Write(b)
	m.calls++
	m.records += n
}

func (m *memory) Reopen() error { return nil }
func (m *memory) Close() error  { return nil }
func (m *memory) Stats() Stats  { return Stats{} }

// lines returns the records written, without their newline.
func (m *memory) lines() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := strings.TrimSuffix(m.buf.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// messages returns the MESSAGE field of every line.
func (m *memory) messages() []string {
	var out []string
	for _, l := range m.lines() {
		out = append(out, message(l))
	}
	return out
}

// message returns the MESSAGE field of a record without call site.
func message(line string) string {
	parts := strings.SplitN(line, "|", 4)
	if len(parts) < 4 {
		return "<malformed " + line + ">"
	}
	return parts[3]
}
