package sms

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// writerLock queues the writers of one SQLite database across processes:
// an exclusive flock on a file next to the database (PATH-wlock), taken
// before BEGIN IMMEDIATE and released after COMMIT. A writer waiting for it
// sleeps in the kernel and is woken when the lock is free, instead of
// retrying BEGIN on SQLITE_BUSY: with four processes on two cores those
// retries cost more CPU than the writes, and their sleeps left the lock idle
// while ops queued behind it. SQLite's own locks still decide; this lock
// only makes them rarely busy. The kernel drops it when its holder dies,
// SIGKILL included.
//
// One goroutine (the store's writer) calls lock and unlock. A wait longer
// than the timeout gives up with errLockTimeout; the helper goroutine still
// blocked in flock then releases the lock as soon as it gets it, unless the
// next lock call has come and takes it.
type writerLock struct {
	f *os.File

	mu        sync.Mutex
	waiting   bool       // a helper goroutine is blocked in flock
	abandoned bool       // nobody waits for that helper: it unlocks at once
	got       chan error // the helper's outcome, buffered
}

// errLockTimeout: another process held the writer lock for the whole wait.
var errLockTimeout = errors.New("database busy: another process holds the writer lock")

// openWriterLock opens (creating) the lock file of the database at path.
func openWriterLock(path string) (*writerLock, error) {
	f, err := os.OpenFile(path+"-wlock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return &writerLock{f: f, got: make(chan error, 1)}, nil
}

// lock waits up to timeout for the lock.
func (l *writerLock) lock(timeout time.Duration) error {
	l.mu.Lock()
	if !l.waiting {
		err := l.flock(syscall.LOCK_EX | syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			l.mu.Unlock()
			return l.wrap(err)
		}
		l.waiting = true
		go l.wait()
	}
	l.abandoned = false
	l.mu.Unlock()

	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-l.got:
		return l.wrap(err)
	case <-t.C:
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.waiting { // the helper got it just now
		return l.wrap(<-l.got)
	}
	l.abandoned = true
	return errLockTimeout
}

// wait blocks in flock for lock, then hands the lock over or, if lock gave
// up meanwhile, releases it.
func (l *writerLock) wait() {
	err := l.flock(syscall.LOCK_EX)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waiting = false
	if l.abandoned {
		if err == nil {
			l.flock(syscall.LOCK_UN)
		}
		return
	}
	l.got <- err
}

// flock is flock(2), repeated when a signal interrupts it.
func (l *writerLock) flock(how int) error {
	for {
		err := syscall.Flock(int(l.f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

func (l *writerLock) wrap(err error) error {
	if err != nil {
		return fmt.Errorf("writer lock %s: %w", l.f.Name(), err)
	}
	return nil
}

// unlock releases the lock.
func (l *writerLock) unlock() { l.flock(syscall.LOCK_UN) }

// close closes the lock file, which releases the lock; a helper still
// blocked in flock gets an error and ends.
func (l *writerLock) close() error { return l.f.Close() }
