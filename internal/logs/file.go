package logs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"
)

// MinFileSize is the smallest rotation size: one record of MaxRecord bytes
// must fit in an empty file.
const MinFileSize = MaxRecord

// backupLayout is the time stamp lumberjack puts in a backup's name
// (NAME-STAMP.EXT), in UTC.
const backupLayout = "2006-01-02T15-04-05.000"

// FileOptions configure OpenFile.
type FileOptions struct {
	// MaxSize is the size in bytes a file may reach before the next write
	// rotates it; sizes below MinFileSize are raised to it.
	MaxSize int64
	// MaxFiles is the number of files kept, the current one included;
	// values below 1 mean 1.
	MaxFiles int
	Options
}

// File is a log file rotated by size, written by this process only.
//
// Rotation renames NAME.EXT to NAME-YYYY-MM-DDTHH-MM-SS.mmm.EXT (UTC, the
// backup naming of lumberjack, which does the renaming) and starts a new
// NAME.EXT; backups beyond MaxFiles-1 are removed, the oldest first, by
// lumberjack's background goroutine (so shortly after the rotation).
// A batch of records is never split across two files. Writes are
// synchronous: a slow disk slows the producer down, nothing is dropped.
// A write that fails (disk full) is undone in the file, so no torn record
// stays, and its records are counted as lost; the next writes try again.
type File struct {
	path string
	max  int64
	keep int
	lj   *lumberjack.Logger // one per File for its lifetime: each starts a goroutine that never ends

	mu    sync.Mutex
	size  int64 // bytes in the current file; -1: unknown, look before writing
	ep    episode
	stats counters
}

// OpenFile creates path and its directory if needed (mode 0644 and 0755)
// and returns the File writing to it. It fails when the directory cannot
// be created or the file cannot be opened for writing.
func OpenFile(path string, opts FileOptions) (*File, error) {
	f := &File{
		path: path,
		max:  max(opts.MaxSize, MinFileSize),
		keep: max(opts.MaxFiles, 1),
		size: -1,
		ep:   episode{name: path, opts: opts.withDefaults()},
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	if _, err := f.create(); err != nil {
		return nil, err
	}
	f.lj = &lumberjack.Logger{
		Filename: path,
		// lumberjack counts whole megabytes: rounded up, its own limit is
		// never reached, and the rotations are the ones f decides.
		MaxSize:    int((f.max + 1<<20 - 1) >> 20),
		MaxBackups: f.keep - 1, // 0 would keep every backup: f.keep == 1 is handled by f
	}
	return f, nil
}

// MaxSize returns the rotation size in use, after raising to MinFileSize.
func (f *File) MaxSize() int64 { return f.max }

// Path returns the file's name.
func (f *File) Path() string { return f.path }

// create opens the file for appending, creating it when missing, and
// returns its size.
func (f *File) create() (int64, error) {
	fd, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return 0, fmt.Errorf("log file: %w", err)
	}
	defer fd.Close()
	fi, err := fd.Stat()
	if err != nil {
		return 0, fmt.Errorf("log file: %w", err)
	}
	return fi.Size(), nil
}

func (f *File) WriteRecords(b []byte, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.prepare(int64(len(b))); err != nil {
		f.failed(err, 0, n, len(b))
		return
	}
	m, err := f.lj.Write(b)
	if err != nil {
		f.failed(err, m, n, len(b))
		return
	}
	f.size += int64(m)
	f.stats.written(n, len(b))
	if r := f.ep.recovered(); r != nil {
		if f.prepare(int64(len(r))) == nil {
			if m, err := f.lj.Write(r); err == nil {
				f.size += int64(m)
			} else {
				f.failed(err, m, 0, 0)
			}
		}
	}
}

// failed handles a write of n records (size bytes) that failed after m
// bytes reached the file: they are cut off again, and the file will be
// looked at afresh before the next write.
func (f *File) failed(err error, m, n, size int) {
	if m > 0 && f.size >= 0 {
		os.Truncate(f.path, f.size)
	}
	f.lj.Close()
	f.size = -1
	if n > 0 {
		f.stats.lost(n, size)
		f.ep.fail(err, n, size)
	}
}

// prepare makes the file ready for a write of n bytes: opened, and rotated
// first if the write would take it past the maximum size.
func (f *File) prepare(n int64) error {
	if f.size < 0 {
		size, err := f.create()
		if err != nil {
			return err
		}
		f.size = size
		if size == 0 || size+n <= f.max {
			// Open now, while lumberjack's own checks agree with f's.
			if _, err := f.lj.Write(nil); err != nil {
				f.size = -1
				return err
			}
		}
	}
	if f.size > 0 && f.size+n > f.max {
		return f.rotate()
	}
	return nil
}

// rotate moves the current file aside and starts a new one.
func (f *File) rotate() error {
	// lumberjack names the backup after the current millisecond and a
	// rename replaces an existing file: two rotations within one
	// millisecond would lose the first backup. Wait for a free name.
	for i := 0; i < 1000; i++ {
		if _, err := os.Lstat(f.backupName(time.Now())); os.IsNotExist(err) {
			break
		}
		time.Sleep(time.Millisecond - time.Duration(time.Now().Nanosecond())%time.Millisecond)
	}
	if err := f.lj.Rotate(); err != nil {
		f.size = -1
		return err
	}
	f.size = 0
	if f.keep == 1 {
		f.removeBackups()
	}
	return nil
}

// backupName is the name lumberjack gives a backup made at t.
func (f *File) backupName(t time.Time) string {
	ext := filepath.Ext(f.path)
	return strings.TrimSuffix(f.path, ext) + "-" + t.UTC().Format(backupLayout) + ext
}

// removeBackups removes every backup of the file (MaxFiles 1).
func (f *File) removeBackups() {
	ext := filepath.Ext(f.path)
	prefix := strings.TrimSuffix(f.path, ext) + "-"
	matches, _ := filepath.Glob(globEscape(prefix) + "*" + globEscape(ext))
	for _, m := range matches {
		stamp := strings.TrimSuffix(strings.TrimPrefix(m, prefix), ext)
		if _, err := time.Parse(backupLayout, stamp); err == nil {
			os.Remove(m)
		}
	}
}

// globEscape quotes the metacharacters of filepath.Match in s.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Reopen closes the file; the next write opens it again by name, creating
// it if an external tool (logrotate) moved it away.
func (f *File) Reopen() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.size = -1
	return f.lj.Close()
}

// Close closes the file. A later write opens it again.
func (f *File) Close() error { return f.Reopen() }

func (f *File) Stats() Stats { return f.stats.get() }
