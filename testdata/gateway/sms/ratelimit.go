package sms

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// Limiter is a sliding-window rate limit per phone whose state lives in files,
// so that every process sharing the directory enforces one limit together.
//
// Each phone has one file, rate/<digits>, holding the Unix-nanosecond times of
// the accepted messages still inside the window, one per line. A decision
// reads, prunes and rewrites that file under an exclusive flock(2) on it, so
// concurrent workers (processes or goroutines, each with its own open file
// description) serialise per phone. flock is advisory and per open file
// description; it works on local file systems, not reliably on NFS.
//
// A process that dies while rewriting can leave a truncated file; unparsable
// lines are ignored, so the cost is at most a few forgotten timestamps.
type Limiter struct {
	dir    string
	limit  int
	window time.Duration
	now    func() time.Time
}

// Grant records one accepted message; Refund takes it back.
type Grant struct {
	key string
	at  int64
}

// NewLimiter returns a limiter of limit messages per window, keeping its files
// under dir (created if missing). now is the clock (time.Now in production).
func NewLimiter(dir string, limit int, window time.Duration, now func() time.Time) (*Limiter, error) {
	if limit < 1 || window <= 0 {
		return nil, fmt.Errorf("rate limit: want limit ≥ 1 and window > 0, got %d per %v", limit, window)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("rate limit: %w", err)
	}
	return &Limiter{dir: dir, limit: limit, window: window, now: now}, nil
}

// Allow decides for one message to the phone with the given key (digits only,
// see NormalizePhone). If the phone is under its limit the message is counted
// and ok is true; otherwise retryAfter is how long until the oldest counted
// message leaves the window.
func (l *Limiter) Allow(key string) (g Grant, retryAfter time.Duration, ok bool, err error) {
	now := l.now().UnixNano()
	err = l.update(key, func(stamps []int64) []int64 {
		cutoff := now - int64(l.window)
		stamps = slices.DeleteFunc(stamps, func(t int64) bool { return t <= cutoff })
		if len(stamps) >= l.limit {
			retryAfter = time.Duration(stamps[len(stamps)-l.limit] - cutoff)
			return stamps
		}
		ok = true
		return append(stamps, now)
	})
	if err != nil || !ok {
		return Grant{}, retryAfter, false, err
	}
	return Grant{key: key, at: now}, 0, true, nil
}

// Refund removes a message counted by Allow, for one that was accepted by the
// limiter but then refused for another reason (queue full).
func (l *Limiter) Refund(g Grant) error {
	return l.update(g.key, func(stamps []int64) []int64 {
		if i := slices.Index(stamps, g.at); i >= 0 {
			stamps = slices.Delete(stamps, i, i+1)
		}
		return stamps
	})
}

// update runs fn on the phone's timestamps under an exclusive lock and writes
// the result back.
func (l *Limiter) update(key string, fn func([]int64) []int64) error {
	path := filepath.Join(l.dir, key)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("rate limit: %w", err)
	}
	defer f.Close() // closing the descriptor also releases the lock
	if err := flock(f, syscall.LOCK_EX); err != nil {
		return fmt.Errorf("rate limit: lock %s: %w", path, err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("rate limit: read %s: %w", path, err)
	}
	before := parseStamps(data)
	after := fn(slices.Clone(before))
	if slices.Equal(before, after) {
		return nil
	}
	out := formatStamps(after)
	if _, err := f.WriteAt(out, 0); err != nil {
		return fmt.Errorf("rate limit: write %s: %w", path, err)
	}
	if err := f.Truncate(int64(len(out))); err != nil {
		return fmt.Errorf("rate limit: write %s: %w", path, err)
	}
	return nil
}

// flock retries flock(2) when a signal interrupts the wait.
func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			return err
		}
	}
}

func parseStamps(data []byte) []int64 {
	var stamps []int64
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if t, err := strconv.ParseInt(sc.Text(), 10, 64); err == nil {
			stamps = append(stamps, t)
		}
	}
	slices.Sort(stamps)
	return stamps
}

func formatStamps(stamps []int64) []byte {
	var b []byte
	for _, t := range stamps {
		b = strconv.AppendInt(b, t, 10)
		b = append(b, '\n')
	}
	return b
}
