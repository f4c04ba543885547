package logs

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// chunkSize is the most Pump reads at once: the default pipe capacity.
const chunkSize = 64 << 10

// Buffers are shared by all pumps and held only while data moves, so an
// idle worker costs its pumps no buffer memory.
var (
	chunks  = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}
	batches = sync.Pool{New: func() any { b := make([]byte, 0, 2*chunkSize); return &b }}
)

// Pump reads r to its end and writes each line to s as a record of pid at
// level, stamped with the time it was read. It returns nil at EOF, else
// the read error.
//
// Lines end with "\n" or "\r\n"; empty lines are skipped; the tail of a
// stream that ends without a newline is still a line. A line is never
// split or merged with another: one too long for a record (MaxRecord) is
// cut and marked with CutMark, and the rest of it is dropped. All the
// lines of one read are formatted into one buffer and written with one
// Destination.WriteRecords call (two or more only past MaxRecord bytes),
// so a busy stream costs one write per read, not one per line, and the
// writes of concurrent pumps never interleave within a record. Lines
// below s's level are framed but not formatted.
//
// When r is an *os.File (a pipe), Pump takes a read buffer only once data
// is ready, so a quiet stream holds none.
func Pump(s *Sink, r io.Reader, pid int, level Level) error {
	p := &pump{s: s, pid: pid, level: level}
	read := func() (*[]byte, int, error) {
		buf := chunks.Get().(*[]byte)
		n, err := r.Read(*buf)
		return buf, n, err
	}
	if sc, ok := r.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			read = func() (*[]byte, int, error) { return readRaw(rc) }
		}
	}
	for {
		buf, n, err := read()
		if n > 0 {
			p.frame((*buf)[:n])
		}
		if buf != nil {
			chunks.Put(buf)
		}
		if err != nil {
			if len(p.held) > 0 && !p.skipping {
				p.start()
				p.line(nil)
				p.flush()
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// readRaw reads once from a pollable descriptor, taking a buffer from the
// pool only when data (or the end) is there. The end of the stream is
// io.EOF.
func readRaw(rc syscall.RawConn) (*[]byte, int, error) {
	var (
		buf  *[]byte
		n    int
		rerr error
	)
	err := rc.Read(func(fd uintptr) bool {
		if buf == nil {
			buf = chunks.Get().(*[]byte)
		}
		for {
			n, rerr = unix.Read(int(fd), *buf)
			if rerr != unix.EINTR {
				break
			}
		}
		if rerr == unix.EAGAIN {
			chunks.Put(buf)
			buf = nil
			return false // wait until readable
		}
		return true
	})
	switch {
	case err != nil:
	case rerr != nil:
		err = rerr
	case n == 0:
		err = io.EOF
	}
	if n < 0 {
		n = 0
	}
	return buf, n, err
}

// pump is the framing state of one stream.
type pump struct {
	s     *Sink
	pid   int
	level Level

	held     []byte // the start of a line whose end is not read yet
	skipping bool   // dropping the rest of a line that was cut

	on    bool    // the level is enabled for the current read
	sec   int64   // the second hdr was made for
	hdr   []byte  // "TIME|PID|LEVEL|"
	batch *[]byte // formatted records not written yet
	n     int     // records in batch
}

// frame turns one read into records.
func (p *pump) frame(data []byte) {
	p.start()
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			p.hold(data)
			break
		}
		if p.skipping {
			p.skipping = false
		} else {
			p.line(data[:i])
		}
		data = data[i+1:]
	}
	p.flush()
}

// start prepares the formatting of a read: the level check and the header.
func (p *pump) start() {
	p.on = p.s.Enabled(p.level)
	if !p.on {
		return
	}
	now := time.Now()
	if sec := now.Unix(); sec != p.sec || p.hdr == nil {
		p.sec = sec
		p.hdr = now.AppendFormat(p.hdr[:0], timeLayout)
		p.hdr = appendHeader(p.hdr, p.pid, p.level)
	}
	if p.batch == nil {
		p.batch = batches.Get().(*[]byte)
	}
}

// hold keeps the unterminated end of a read for the next one, cutting the
// line once it cannot fit in a record any more.
func (p *pump) hold(data []byte) {
	if p.skipping {
		return
	}
	if room := MaxRecord - len(p.held); len(data) >= room {
		p.held = append(p.held, data[:room]...)
		p.line(nil)
		p.skipping = true
		return
	}
	p.held = append(p.held, data...)
}

// line formats the held start of a line followed by end.
func (p *pump) line(end []byte) {
	msg := end
	if len(p.held) > 0 {
		msg = append(p.held, end...)
		p.held = p.held[:0]
		if cap(p.held) > chunkSize {
			p.held = nil // a long line's buffer is not kept
		}
	}
	if len(msg) > 0 && msg[len(msg)-1] == '\r' {
		msg = msg[:len(msg)-1]
	}
	if len(msg) == 0 {
		return
	}
	if !p.on {
		p.s.filtered.Add(1)
		return
	}
	if len(*p.batch)+len(p.hdr)+len(msg)+1 > MaxRecord {
		p.write()
	}
	b := *p.batch
	start := len(b)
	b = append(b, p.hdr...)
	*p.batch = appendMessage(b, start, msg)
	p.n++
}

// write writes the formatted records, as one unit.
func (p *pump) write() {
	if p.n > 0 {
		p.s.dest.WriteRecords(*p.batch, p.n)
	}
	*p.batch = (*p.batch)[:0]
	p.n = 0
}

// flush writes the formatted records and gives the batch buffer back.
func (p *pump) flush() {
	if p.batch == nil {
		return
	}
	p.write()
	if cap(*p.batch) <= 2*MaxRecord {
		batches.Put(p.batch)
	}
	p.batch = nil
}
