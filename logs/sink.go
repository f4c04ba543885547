package logs

import (
	"io"
	"sync"
)

// Sink writes formatted records to one destination, one whole record per
// Write, so records of concurrent producers never interleave. Write errors
// are counted, not returned: logging never stops the agent.
type Sink struct {
	mu     sync.Mutex
	w      io.Writer
	buf    []byte
	errors int
}

// NewSink returns a Sink writing to w.
func NewSink(w io.Writer) *Sink { return &Sink{w: w} }

// Write formats r and writes it.
func (s *Sink) Write(r Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = AppendFormat(s.buf[:0], r)
	if _, err := s.w.Write(s.buf); err != nil {
		s.errors++
	}
	if cap(s.buf) > 64<<10 {
		s.buf = nil // do not pin a huge line's buffer
	}
}

// Errors returns how many writes failed.
func (s *Sink) Errors() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errors
}
