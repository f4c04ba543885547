package sms

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of Queue.Submit.
var (
	ErrQueueFull   = errors.New("queue full: retry later")
	ErrQueueClosed = errors.New("queue closed: the gateway is stopping")
)

// errStopped is the LastError of messages abandoned by a drain that ran out
// of time.
const errStopped = "gateway stopped before delivery"

// Queue delivers accepted messages in the background with a bounded buffer,
// a fixed number of sender goroutines and retries with exponential backoff.
//
// A message is attempted at most MaxAttempts times; after failed attempt n the
// sender waits BackoffBase·2^(n-1), capped at BackoffMax. Each transition is
// written to the Store, so any worker can answer GET /api/sms/{id}.
type Queue struct {
	store       *Store
	provider    Provider
	sleep       SleepFunc
	now         func() time.Time
	log         *slog.Logger
	senders     int
	maxAttempts int
	backoffBase time.Duration
	backoffMax  time.Duration

	jobs   chan Message
	ctx    context.Context // cancelled when a drain runs out of time
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex // guards closed and sending on jobs
	closed bool

	inFlight, sent, failed, retries atomic.Int64
}

// QueueOptions configures NewQueue. All fields are required except Sleep
// (default Sleep) and Now (default time.Now).
type QueueOptions struct {
	Store       *Store
	Provider    Provider
	Log         *slog.Logger
	Sleep       SleepFunc
	Now         func() time.Time
	Size        int
	Senders     int
	MaxAttempts int
	BackoffBase time.Duration
	BackoffMax  time.Duration
}

// QueueStats is a snapshot of the queue's counters, as sms.stats reports it.
type QueueStats struct {
	Depth    int   `json:"queue_depth"`    // accepted, waiting for a sender
	Capacity int   `json:"queue_capacity"` // Depth at which Submit refuses
	InFlight int64 `json:"in_flight"`      // with a sender, backoff waits included
	Sent     int64 `json:"sent"`           // delivered since start
	Failed   int64 `json:"failed"`         // given up on since start
	Retries  int64 `json:"retries"`        // failed attempts that were retried
}

// NewQueue returns a queue; Start launches its senders.
func NewQueue(o QueueOptions) *Queue {
	if o.Sleep == nil {
		o.Sleep = Sleep
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Queue{
		store: o.Store, provider: o.Provider, sleep: o.Sleep, now: o.Now, log: o.Log,
		senders: o.Senders, maxAttempts: o.MaxAttempts,
		backoffBase: o.BackoffBase, backoffMax: o.BackoffMax,
		jobs: make(chan Message, o.Size), ctx: ctx, cancel: cancel,
	}
}

// Start launches the sender goroutines. Call it once.
func (q *Queue) Start() {
	for range q.senders {
		q.wg.Add(1)
		go q.run()
	}
}

// Submit records m as queued and hands it to the senders. It returns
// ErrQueueFull when the buffer is full and ErrQueueClosed once Drain has
// begun; in both cases no record is left behind.
func (q *Queue) Submit(m Message) error {
	m.Status = StatusQueued
	if err := q.store.Put(m); err != nil {
		return err
	}
	q.mu.Lock()
	err := ErrQueueClosed
	if !q.closed {
		select {
		case q.jobs <- m:
			err = nil
		default:
			err = ErrQueueFull
		}
	}
	q.mu.Unlock()
	if err != nil {
		if derr := q.store.Delete(m.ID); derr != nil {
			q.log.Warn("removing refused message", "id", m.ID, "err", derr)
		}
	}
	return err
}

// Drain stops accepting messages and waits until the senders have finished
// every accepted one. If ctx ends first, delivery is abandoned: pending
// messages are marked failed with "gateway stopped before delivery", and
// Drain returns ctx.Err() once the senders have exited.
func (q *Queue) Drain(ctx context.Context) error {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.jobs)
	}
	q.mu.Unlock()
	done := make(chan struct{})
	go func() { q.wg.Wait(); close(done) }()
	defer q.cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		q.cancel()
		<-done
		return ctx.Err()
	}
}

// Stats returns the current counters.
func (q *Queue) Stats() QueueStats {
	return QueueStats{
		Depth: len(q.jobs), Capacity: cap(q.jobs), InFlight: q.inFlight.Load(),
		Sent: q.sent.Load(), Failed: q.failed.Load(), Retries: q.retries.Load(),
	}
}

func (q *Queue) run() {
	defer q.wg.Done()
	for m := range q.jobs {
		q.inFlight.Add(1)
		q.deliver(m)
		q.inFlight.Add(-1)
	}
}

// deliver attempts m until it is sent, out of attempts, or the queue is
// cancelled.
func (q *Queue) deliver(m Message) {
	for attempt := 1; ; attempt++ {
		if q.ctx.Err() != nil {
			q.finish(m, StatusFailed, errStopped)
			return
		}
		m.Attempts = attempt
		q.update(&m, StatusSending)
		err := q.provider.Send(q.ctx, m)
		switch {
		case err == nil:
			q.finish(m, StatusSent, "")
			return
		case q.ctx.Err() != nil:
			q.finish(m, StatusFailed, errStopped+": "+err.Error())
			return
		case attempt >= q.maxAttempts:
			q.finish(m, StatusFailed, err.Error())
			return
		}
		m.LastError = err.Error()
		q.update(&m, StatusSending)
		q.retries.Add(1)
		wait := q.backoff(attempt)
		q.log.Debug("sms attempt failed, retrying", "id", m.ID, "attempt", attempt, "err", err, "backoff", wait)
		if q.sleep(q.ctx, wait) != nil {
			q.finish(m, StatusFailed, errStopped+" (last error: "+m.LastError+")")
			return
		}
	}
}

// backoff is the wait after failed attempt n (1-based).
func (q *Queue) backoff(n int) time.Duration {
	d := q.backoffBase
	for i := 1; i < n && d < q.backoffMax; i++ {
		d *= 2
	}
	return min(d, q.backoffMax)
}

// finish records m's final status. The counters move first, so a client
// that sees the final record also sees it counted.
func (q *Queue) finish(m Message, s Status, lastErr string) {
	m.LastError = lastErr
	if s == StatusSent {
		q.sent.Add(1)
		q.update(&m, s)
		q.log.Info("sms sent", "id", m.ID, "attempts", m.Attempts)
		return
	}
	q.failed.Add(1)
	q.update(&m, s)
	q.log.Warn("sms failed", "id", m.ID, "attempts", m.Attempts, "err", lastErr)
}

func (q *Queue) update(m *Message, s Status) {
	m.Status = s
	m.UpdatedAt = q.now()
	if err := q.store.Put(*m); err != nil {
		q.log.Error("recording message status", "id", m.ID, "status", s, "err", err)
	}
}
