package logs

import (
	"sync"
	"sync/atomic"
)

// Sink is one log: a level filter in front of a Destination. Several sinks
// may share a destination (the service log and the agent log both go to
// stdout without a log dir) and still have their own levels. Its methods
// are safe for concurrent use.
type Sink struct {
	level    atomic.Int32
	dest     Destination
	filtered atomic.Uint64 // records dropped for their level

	mu  sync.Mutex // guards buf and stamp, for Write
	buf []byte
}

// To returns a Sink writing to d at LevelDebug (everything).
func To(d Destination) *Sink { return &Sink{dest: d} }

// Destination returns where s writes.
func (s *Sink) Destination() Destination { return s.dest }

// SetLevel makes s drop records below l from now on; LevelNone drops all.
func (s *Sink) SetLevel(l Level) { s.level.Store(int32(l)) }

// Level returns the level set by SetLevel.
func (s *Sink) Level() Level { return Level(s.level.Load()) }

// Filtered returns how many records Write dropped for being below the
// level. Records a worker filters itself never reach the sink.
func (s *Sink) Filtered() uint64 { return s.filtered.Load() }

// Enabled reports whether a record at level l would be written.
func (s *Sink) Enabled(l Level) bool { return l >= s.Level() && l < LevelNone }

// Write formats r and writes it as one record, unless its level is below
// s's. A message longer than a record allows is cut (see AppendFormat).
func (s *Sink) Write(r Record) {
	if !s.Enabled(r.Level) {
		s.filtered.Add(1)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = AppendFormat(s.buf[:0], r)
	s.dest.WriteRecords(s.buf, 1)
	if cap(s.buf) > 64<<10 {
		s.buf = nil // do not pin a huge record's buffer
	}
}
