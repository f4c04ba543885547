package sms

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// newTestQueue returns a queue over a fresh store with the given provider
// and a recording sleep.
func newTestQueue(t *testing.T, p Provider, o QueueOptions) (*Queue, *Store, *sleepRecorder) {
	t.Helper()
	store, err := NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rec := new(sleepRecorder)
	o.Store, o.Provider, o.Log, o.Sleep = store, p, discardLog(), rec.Sleep
	setDefault(&o.Size, 8)
	setDefault(&o.Senders, 1)
	setDefault(&o.MaxAttempts, 4)
	setDefault(&o.BackoffBase, 100*time.Millisecond)
	setDefault(&o.BackoffMax, 5*time.Second)
	return NewQueue(o), store, rec
}

// failFirst fails the first n calls per message, recording the status
// each call saw in the store.
type failFirst struct {
	n     int
	store *Store

	mu    sync.Mutex
	calls map[string]int
	seen  []Message
}

func (f *failFirst) Send(_ context.Context, m Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = make(map[string]int)
	}
	f.calls[m.ID]++
	rec, _ := f.store.Get(m.ID)
	f.seen = append(f.seen, rec)
	if f.calls[m.ID] <= f.n {
		return ErrProviderUnavailable
	}
	return nil
}

func drain(t *testing.T, q *Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.Drain(ctx); err != nil {
		t.Fatalf("drain: %v", err)
	}
}

func TestQueueRetriesWithBackoffThenSends(t *testing.T) {
	p := &failFirst{n: 2}
	q, store, rec := newTestQueue(t, p, QueueOptions{})
	p.store = store
	q.Start()
	m := Message{ID: NewID(), Text: "hi"}
	if err := q.Submit(m); err != nil {
		t.Fatal(err)
	}
	drain(t, q)

	got, _ := store.Get(m.ID)
	if got.Status != StatusSent || got.Attempts != 3 || got.LastError != "" {
		t.Fatalf("record %+v; want sent after 3 attempts", got)
	}
	if w := rec.Waited(); !slices.Equal(w, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}) {
		t.Fatalf("backoff waits %v", w)
	}
	// What the provider saw in the store at each call: sending, attempt
	// number, and the previous attempt's error.
	for i, s := range p.seen {
		wantErr := ""
		if i > 0 {
			wantErr = ErrProviderUnavailable.Error()
		}
		if s.Status != StatusSending || s.Attempts != i+1 || s.LastError != wantErr {
			t.Errorf("call %d saw %+v", i+1, s)
		}
	}
	if st := q.Stats(); st.Sent != 1 || st.Failed != 0 || st.Retries != 2 || st.InFlight != 0 || st.Depth != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestQueueGivesUpAfterMaxAttempts(t *testing.T) {
	p := &failFirst{n: 100}
	q, store, rec := newTestQueue(t, p, QueueOptions{BackoffBase: time.Second, BackoffMax: 3 * time.Second, MaxAttempts: 5})
	p.store = store
	q.Start()
	m := Message{ID: NewID(), Text: "hi"}
	if err := q.Submit(m); err != nil {
		t.Fatal(err)
	}
	drain(t, q)
	got, _ := store.Get(m.ID)
	if got.Status != StatusFailed || got.Attempts != 5 || got.LastError != ErrProviderUnavailable.Error() {
		t.Fatalf("record %+v; want failed after 5 attempts", got)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second} // capped
	if w := rec.Waited(); !slices.Equal(w, want) {
		t.Fatalf("backoff waits %v, want %v", w, want)
	}
	if st := q.Stats(); st.Failed != 1 || st.Retries != 4 {
		t.Errorf("stats %+v", st)
	}
}

// blockingProvider holds every call until release is closed (or ctx ends),
// announcing each call on started.
type blockingProvider struct {
	started chan string
	release chan struct{}
}

func newBlockingProvider() *blockingProvider {
	return &blockingProvider{started: make(chan string, 64), release: make(chan struct{})}
}

func (b *blockingProvider) Send(ctx context.Context, m Message) error {
	b.started <- m.ID
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestQueueFull(t *testing.T) {
	p := newBlockingProvider()
	q, store, _ := newTestQueue(t, p, QueueOptions{Size: 1, Senders: 1})
	q.Start()
	first, second, third := Message{ID: NewID()}, Message{ID: NewID()}, Message{ID: NewID()}
	if err := q.Submit(first); err != nil {
		t.Fatal(err)
	}
	<-p.started // the sender holds first; the buffer is empty
	if err := q.Submit(second); err != nil {
		t.Fatal(err)
	}
	if st := q.Stats(); st.Depth != 1 || st.InFlight != 1 || st.Capacity != 1 {
		t.Fatalf("stats %+v", st)
	}
	if err := q.Submit(third); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third submit: %v, want ErrQueueFull", err)
	}
	if _, err := store.Get(third.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("refused message left a record: %v", err)
	}
	if got, _ := store.Get(second.ID); got.Status != StatusQueued {
		t.Fatalf("second: %+v", got)
	}
	close(p.release)
	drain(t, q)
	for _, m := range []Message{first, second} {
		if got, _ := store.Get(m.ID); got.Status != StatusSent {
			t.Errorf("%s: %+v", m.ID, got)
		}
	}
	if err := q.Submit(Message{ID: NewID()}); !errors.Is(err, ErrQueueClosed) {
		t.Fatalf("submit after drain: %v, want ErrQueueClosed", err)
	}
}

func TestQueueDrainWaitsForAcceptedMessages(t *testing.T) {
	p := newBlockingProvider()
	q, store, _ := newTestQueue(t, p, QueueOptions{Senders: 2})
	q.Start()
	var ids []string
	for range 5 {
		m := Message{ID: NewID()}
		ids = append(ids, m.ID)
		if err := q.Submit(m); err != nil {
			t.Fatal(err)
		}
	}
	drained := make(chan error, 1)
	go func() { drained <- q.Drain(context.Background()) }()
	<-p.started
	select {
	case err := <-drained:
		t.Fatalf("Drain returned %v while a delivery was blocked", err)
	default:
	}
	close(p.release)
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if got, _ := store.Get(id); got.Status != StatusSent {
			t.Errorf("%s: %+v", id, got)
		}
	}
}

func TestQueueDrainTimeoutFailsTheRest(t *testing.T) {
	p := newBlockingProvider() // never released
	q, store, _ := newTestQueue(t, p, QueueOptions{Senders: 1})
	q.Start()
	var ids []string
	for range 3 {
		m := Message{ID: NewID()}
		ids = append(ids, m.ID)
		if err := q.Submit(m); err != nil {
			t.Fatal(err)
		}
	}
	<-p.started
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // out of time already
	if err := q.Drain(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Drain = %v, want context.Canceled", err)
	}
	for _, id := range ids {
		got, _ := store.Get(id)
		if got.Status != StatusFailed || !strings.HasPrefix(got.LastError, errStopped) {
			t.Errorf("%s: %+v", id, got)
		}
	}
	if st := q.Stats(); st.Failed != 3 || st.InFlight != 0 {
		t.Errorf("stats %+v", st)
	}
}
