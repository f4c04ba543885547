package logs

import (
	"io"
	"os"
	"sync"
)

// writer is the synchronous Destination of NewWriter.
type writer struct {
	mu sync.Mutex // held during a write
	w  io.Writer
	f  *os.File // w when it is a regular file, to undo short writes
	ep episode

	stats counters
}

// NewWriter returns a Destination that writes each batch to w at once,
// under a lock: a slow w slows the producer down, nothing is dropped. When
// w is a regular *os.File, a write that fails part-way (disk full) is
// undone, so no torn record stays in the file; this assumes nobody else
// writes to the file at the same moment.
func NewWriter(w io.Writer, opts Options) Destination {
	opts = opts.withDefaults()
	d := &writer{w: w, ep: episode{name: "log", opts: opts}}
	if f, ok := w.(*os.File); ok {
		d.ep.name = f.Name()
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			d.f = f
		}
	}
	return d
}

func (d *writer) WriteRecords(b []byte, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.write(b, n)
}

// write writes b; the caller holds d.mu.
func (d *writer) write(b []byte, n int) {
	m, err := d.w.Write(b)
	if err != nil {
		if m > 0 && d.f != nil {
			undo(d.f, m)
		}
		d.stats.lost(n, len(b))
		d.ep.fail(err, n, len(b))
		return
	}
	d.stats.written(n, len(b))
	if r := d.ep.recovered(); r != nil {
		d.w.Write(r)
	}
}

func (d *writer) Reopen() error { return nil }

func (d *writer) Close() error { return nil }

func (d *writer) Stats() Stats { return d.stats.get() }

// undo removes the last m bytes written to f, the start of a record whose
// write failed.
func undo(f *os.File, m int) {
	fi, err := f.Stat()
	if err != nil || fi.Size() < int64(m) {
		return
	}
	if f.Truncate(fi.Size()-int64(m)) == nil {
		f.Seek(-int64(m), io.SeekCurrent)
	}
}
