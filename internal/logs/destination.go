package logs

import (
	"io"
	"os"
	"sync"
)

// Destination receives formatted records. WriteRecords gets whole records
// only, n of them in b, at most MaxRecord bytes in all, and writes them as
// one unit: records of concurrent callers never interleave. It does not
// keep b. Write errors are not returned but counted (Stats) and reported
// (Options.Report): logging never stops the agent.
type Destination interface {
	WriteRecords(b []byte, n int)
	// Reopen closes the destination's file, if it has one, so that the
	// next write opens it again by name (after an external rotation).
	Reopen() error
	// Close flushes and closes the destination.
	Close() error
	// Stats returns the destination's counters.
	Stats() Stats
}

// Stats count what a destination did with the records it was given.
// Records = Written + Lost + Dropped.
type Stats struct {
	Written, WrittenBytes uint64
	// Lost records were given to a write that failed (disk full, I/O
	// error, closed stdout); Errors counts those writes.
	Lost, LostBytes uint64
	Errors          uint64
	// Dropped records found the console buffer full (a slow stdout).
	Dropped, DroppedBytes uint64
}

// Options are common to all destinations.
type Options struct {
	// Report gets one line when writes start failing and one when they
	// work again; nil means os.Stderr.
	Report io.Writer
	// PID is the process id in the records a destination adds itself
	// (about lost or dropped records); 0 means os.Getpid().
	PID int
}

func (o Options) withDefaults() Options {
	if o.Report == nil {
		o.Report = os.Stderr
	}
	if o.PID == 0 {
		o.PID = os.Getpid()
	}
	return o
}

// counters are the Stats of a destination, under their own lock so that
// reading them never waits for a write stuck on a slow disk or terminal.
type counters struct {
	mu sync.Mutex
	s  Stats
}

func (c *counters) written(n, size int) {
	c.mu.Lock()
	c.s.Written += uint64(n)
	c.s.WrittenBytes += uint64(size)
	c.mu.Unlock()
}

func (c *counters) lost(n, size int) {
	c.mu.Lock()
	c.s.Errors++
	c.s.Lost += uint64(n)
	c.s.LostBytes += uint64(size)
	c.mu.Unlock()
}

func (c *counters) dropped(n, size int) {
	c.mu.Lock()
	c.s.Dropped += uint64(n)
	c.s.DroppedBytes += uint64(size)
	c.mu.Unlock()
}

func (c *counters) get() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s
}
