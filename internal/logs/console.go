package logs

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// DefaultConsoleBuffer is the console buffer used when ConsoleOptions.Buffer
// is 0.
const DefaultConsoleBuffer = 1 << 20

// consoleCloseWait bounds how long Close waits for a stuck stdout.
const consoleCloseWait = 2 * time.Second

// ConsoleOptions configure NewConsole.
type ConsoleOptions struct {
	// Buffer is the most bytes held for a slow stdout; 0 means
	// DefaultConsoleBuffer, and it is at least MaxRecord.
	Buffer int
	Options
}

// NewConsole returns the Destination for out, the agent's stdout. A
// regular file is written synchronously (NewWriter). Anything else (a
// terminal, a pipe) goes through a bounded buffer that one goroutine
// drains, so a slow reader never blocks the producers: when the buffer is
// full, whole batches of records are dropped and counted, and a WARN
// record saying how many follows the records that made it, as soon as the
// output moves again. Close stops the goroutine.
func NewConsole(out *os.File, opts ConsoleOptions) Destination {
	if fi, err := out.Stat(); err == nil && fi.Mode().IsRegular() {
		return NewWriter(out, opts.Options)
	}
	opts.Options = opts.Options.withDefaults()
	if opts.Buffer == 0 {
		opts.Buffer = DefaultConsoleBuffer
	}
	c := &console{
		out:   &writer{w: out, ep: episode{name: out.Name(), opts: opts.Options}},
		pid:   opts.PID,
		limit: max(opts.Buffer, MaxRecord),
		wake:  make(chan struct{}, 1),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go c.drain()
	return c
}

// console is the buffered Destination of NewConsole.
type console struct {
	out   *writer // also the lock of every write to stdout
	pid   int
	limit int
	wake  chan struct{}
	quit  chan struct{}
	done  chan struct{}
	close sync.Once

	mu      sync.Mutex
	buf     []byte // records waiting for the drainer
	n       int    // records in buf
	spare   []byte // the drainer's previous buffer, for reuse
	closed  bool   // no drainer any more: write through
	dropped uint64 // records dropped since the last notice
	bytes   uint64
}

func (c *console) WriteRecords(b []byte, n int) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.out.WriteRecords(b, n)
		return
	}
	if len(c.buf)+len(b) > c.limit {
		c.dropped += uint64(n)
		c.bytes += uint64(len(b))
		c.mu.Unlock()
		c.out.stats.dropped(n, len(b))
		return
	}
	c.buf = append(c.buf, b...)
	c.n += n
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// drain writes the buffered records until Close, then what is left.
func (c *console) drain() {
	defer close(c.done)
	for {
		select {
		case <-c.wake:
			c.flush()
		case <-c.quit:
			c.flush()
			return
		}
	}
}

// flush writes what is buffered, then the notice of dropped records.
func (c *console) flush() {
	c.mu.Lock()
	b, n := c.buf, c.n
	c.buf, c.n = c.spare[:0], 0
	dropped, bytes := c.dropped, c.bytes
	c.dropped, c.bytes = 0, 0
	c.mu.Unlock()
	if n > 0 {
		c.out.WriteRecords(b, n)
	}
	if dropped > 0 {
		r := AppendFormat(nil, Record{Time: time.Now(), PID: c.pid, Level: LevelWarn,
			Message: fmt.Sprintf("node-agent: dropped %d records (%d bytes) while stdout was slow", dropped, bytes)})
		c.out.WriteRecords(r, 0)
	}
	c.mu.Lock()
	if cap(b) <= 2*c.limit {
		c.spare = b[:0]
	}
	c.mu.Unlock()
}

func (c *console) Reopen() error { return nil }

// Close writes what is buffered, waiting at most consoleCloseWait for a
// stuck stdout; later writes go to stdout directly.
func (c *console) Close() error {
	c.close.Do(func() { close(c.quit) })
	select {
	case <-c.done:
	case <-time.After(consoleCloseWait):
		return fmt.Errorf("stdout is stuck: %d buffered bytes not written", c.pending())
	}
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.flush() // what came in during the drainer's last flush
	return nil
}

func (c *console) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.buf)
}

func (c *console) Stats() Stats { return c.out.Stats() }
