package sms

import (
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStorePutGetDelete(t *testing.T) {
	s, err := NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := Message{ID: NewID(), Phone: "+4915112345678", Text: "hi", Status: StatusQueued, CreatedAt: time.Unix(1, 0).UTC()}
	if err := s.Put(m); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(m.ID)
	if err != nil || got != m {
		t.Fatalf("Get = %+v, %v; want %+v", got, err, m)
	}
	m.Status, m.Attempts = StatusSent, 2
	if err := s.Put(m); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(m.ID); got.Status != StatusSent || got.Attempts != 2 {
		t.Fatalf("after update: %+v", got)
	}
	if err := s.Delete(m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(m.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := s.Delete(m.ID); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	entries, _ := os.ReadDir(s.dir)
	if len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestStoreRefusesNonIDs(t *testing.T) {
	s, _ := NewStore(t.TempDir())
	for _, id := range []string{"", "../../etc/passwd", "send", "abcdefghijklmnopqrstuvwxyz", NewID() + "A"} {
		if _, err := s.Get(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v; want ErrNotFound", id, err)
		}
		if err := s.Put(Message{ID: id}); err == nil {
			t.Errorf("Put(%q) accepted", id)
		}
	}
}

func TestNewIDUnique(t *testing.T) {
	seen := make(map[string]bool)
	for range 10000 {
		id := NewID()
		if !validID(id) || seen[id] {
			t.Fatalf("id %q invalid or repeated", id)
		}
		seen[id] = true
	}
}

// TestStoreReadersNeverSeePartialRecords rewrites one record while another
// Store on the same directory reads it.
func TestStoreReadersNeverSeePartialRecords(t *testing.T) {
	dir := t.TempDir()
	w, _ := NewStore(dir)
	r, _ := NewStore(dir)
	m := Message{ID: NewID(), Text: strings.Repeat("x", 32<<10), Status: StatusQueued}
	if err := w.Put(m); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 200 {
			m.Attempts = i
			if err := w.Put(m); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 200 {
		if _, err := r.Get(m.ID); err != nil {
			t.Fatalf("reader saw: %v", err)
		}
	}
	wg.Wait()
}
