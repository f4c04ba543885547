package sms

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// Two writerLocks on one path stand for two processes: flock locks belong
// to the open file, so they exclude each other within one process too.
func TestWriterLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sms.db")
	open := func() *writerLock {
		l, err := openWriterLock(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.close() })
		return l
	}
	a, b, c := open(), open(), open()

	if err := a.lock(time.Second); err != nil {
		t.Fatal(err)
	}
	if err := b.lock(20 * time.Millisecond); !errors.Is(err, errLockTimeout) {
		t.Fatalf("b.lock while a holds it = %v, want errLockTimeout", err)
	}

	// b gave up; its helper, still waiting, must not keep the lock once a
	// releases it: c gets it.
	a.unlock()
	if err := c.lock(5 * time.Second); err != nil {
		t.Fatalf("c.lock after a released and b gave up: %v", err)
	}

	// b asks again while its earlier helper may still wait: it gets the
	// lock when c releases, and holds it until it unlocks.
	done := make(chan error, 1)
	go func() { done <- b.lock(5 * time.Second) }()
	select {
	case err := <-done:
		t.Fatalf("b.lock returned %v while c holds the lock", err)
	case <-time.After(20 * time.Millisecond):
	}
	c.unlock()
	if err := <-done; err != nil {
		t.Fatalf("b.lock after c released: %v", err)
	}
	if err := a.lock(20 * time.Millisecond); !errors.Is(err, errLockTimeout) {
		t.Fatalf("a.lock while b holds it = %v, want errLockTimeout", err)
	}
	b.unlock()
	if err := a.lock(5 * time.Second); err != nil {
		t.Fatalf("a.lock after b released: %v", err)
	}
	a.unlock()
}
