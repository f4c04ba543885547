package sms

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
)

// Deliverer is one worker's share of the delivery: it claims due messages
// from the Store with a lease, makes one provider attempt per claim, and
// records each outcome. Every worker of every host runs one; any of them
// delivers any message, and a message whose worker is lost is taken over by
// another once its lease expires.
//
// A failed attempt that is to be retried is not waited for here: the
// message goes back to the store with its next attempt's time
// (Message.NextAttemptAt, after Retry.Backoff) and the sender is free at
// once; whichever worker claims first once that time has come makes the
// next attempt. A scheduled send (send_at) waits in the store the same way.
//
// A message this worker accepts is best leased to it in the accept's own
// commit (Reserve, then AcceptRequest.Lease, then Adopt): it costs no
// Claim, and goes to a sender at once. Without a free sender it is
// accepted queued, and Wake makes run claim it.
//
// Goroutines: run claims (woken by Wake after a local accept, else every
// PollInterval, which bounds how late a due message is claimed) and hands
// leases to Senders sender goroutines; keep renews the held leases every
// Lease/3.
type Deliverer struct {
	o     DelivererOptions
	owner string

	wake    chan struct{}
	jobs    chan Lease // claimed by run
	adopted chan Lease // leased at accept (Adopt), buffered: capacity

	mu        sync.Mutex
	held      map[string]Lease // leases this worker holds, by message id
	finishing map[string]bool  // of held: the outcome is being recorded
	reserved  int              // Reserve's slots not yet adopted or given back
	running   bool             // between Start and Stop: Reserve grants slots

	callCtx context.Context    // provider calls; cancelled when the drain runs out of time
	cancel  context.CancelFunc // of callCtx
	quit    chan struct{}      // closed by Stop: run and keep return
	wg      sync.WaitGroup
	records sync.WaitGroup // outcomes being recorded (finishLater)

	sent, failed, retries, takeovers, released atomic.Int64
}

// DelivererOptions configures NewDeliverer. Store, Provider and Log are
// required; zero durations and counts take the Default constants.
type DelivererOptions struct {
	Store    Store
	Provider Provider
	Log      *slog.Logger
	Now      func() time.Time
	Metrics  Metrics
	WorkerID int

	Senders      int           // concurrent provider calls
	Lease        time.Duration // a lost worker's messages are taken over after at most this long
	PollInterval time.Duration // how often to look for other workers' messages and expired leases
	// Retry bounds the attempts (MaxAttempts) and sets the waits between
	// them (Retry.Backoff); zero fields as in provider.RetryPolicy.WithDefaults.
	Retry provider.RetryPolicy
	// Draw is the jitter's uniform draw from [0, 1); nil means a source of
	// this deliverer's own, randomly seeded.
	Draw func() float64
}

// DeliveryStats is a snapshot of this worker's delivery counters, as
// sms.stats reports it.
type DeliveryStats struct {
	InFlight  int   `json:"in_flight"` // leases held
	Sent      int64 `json:"sent"`      // delivered by this worker since start
	Failed    int64 `json:"failed"`    // given up on by this worker since start
	Retries   int64 `json:"retries"`   // failed attempts put back to be retried
	Takeovers int64 `json:"takeovers"` // messages taken over from a lost worker
	Released  int64 `json:"released"`  // handed back by a graceful stop
}

// NewDeliverer returns a deliverer; Start runs it.
func NewDeliverer(o DelivererOptions) *Deliverer {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics = NoMetrics{}
	}
	setDefault(&o.Senders, DefaultSenders)
	setDefault(&o.Lease, DefaultLease)
	setDefault(&o.PollInterval, DefaultPollInterval)
	o.Retry = o.Retry.WithDefaults()
	if o.Draw == nil {
		o.Draw = newDraw()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Deliverer{
		o:     o,
		owner: fmt.Sprintf("w%d-%d-%s", o.WorkerID, os.Getpid(), rand.Text()[:8]),
		wake:  make(chan struct{}, 1), jobs: make(chan Lease), adopted: make(chan Lease, o.Senders*2),
		held: map[string]Lease{}, finishing: map[string]bool{}, callCtx: ctx, cancel: cancel, quit: make(chan struct{}),
	}
}

// Owner is this deliverer's lease owner name (its Redis consumer name).
func (d *Deliverer) Owner() string { return d.owner }

// Start launches the goroutines. Call it once.
func (d *Deliverer) Start() {
	d.mu.Lock()
	d.running = true
	d.mu.Unlock()
	d.wg.Add(2 + d.o.Senders)
	go d.run()
	go d.keep()
	for range d.o.Senders {
		go d.sender()
	}
}

// Wake tells the deliverer a message was just accepted here, so it claims
// at once instead of at the next poll.
func (d *Deliverer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Stop ends delivery gracefully: no new claims; claimed messages not yet
// with a sender are handed back at once; those with a sender get until ctx
// ends to be delivered; every message still held then is handed back to
// the queue (status queued, attempts kept) for another worker, never marked
// failed. It returns ctx.Err() if deliveries had to be cut short.
func (d *Deliverer) Stop(ctx context.Context) error {
	d.mu.Lock()
	d.running = false
	d.mu.Unlock()
	close(d.quit) // run stops claiming and closes jobs; senders finish the job in hand
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		d.cancel()
		<-done
	}
	d.cancel()
	d.records.Wait()
	d.releaseAll()
	return err
}

// capacity is how many leases a worker holds at most: a little ahead of
// its senders, so a sender finishing one finds the next.
func (d *Deliverer) capacity() int { return d.o.Senders * 2 }

// Reserve asks for a slot for a message this worker is about to accept:
// with ok, req goes in AcceptRequest.Lease, and exactly one Adopt (the
// store granted the lease) or Unreserve (it did not, or nothing was
// stored) must follow. Not ok, and req empty, while the worker's leases
// fill its capacity or it is not running: the message is then accepted
// queued, for Claim.
func (d *Deliverer) Reserve() (req LeaseRequest, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.running || d.busy() >= d.capacity() {
		return LeaseRequest{}, false
	}
	d.reserved++
	return LeaseRequest{Owner: d.owner, Duration: d.o.Lease}, true
}

// Unreserve gives back a slot of Reserve that was not used.
func (d *Deliverer) Unreserve() {
	d.mu.Lock()
	d.reserved--
	d.mu.Unlock()
}

// Adopt takes the lease Accept granted on a slot of Reserve and hands the
// message to a sender. After Stop it hands the message back at once.
func (d *Deliverer) Adopt(l Lease) {
	d.mu.Lock()
	d.reserved--
	d.held[l.Message.ID] = l
	running := d.running
	if running {
		d.adopted <- l // never blocks: adopted + reserved ≤ capacity (Reserve)
	}
	d.mu.Unlock()
	if !running {
		d.release(l)
	}
}

// Stats returns this worker's counters.
func (d *Deliverer) Stats() DeliveryStats {
	d.mu.Lock()
	n := len(d.held)
	d.mu.Unlock()
	return DeliveryStats{
		InFlight: n, Sent: d.sent.Load(), Failed: d.failed.Load(), Retries: d.retries.Load(),
		Takeovers: d.takeovers.Load(), Released: d.released.Load(),
	}
}

// run claims while senders are free and the store has messages.
func (d *Deliverer) run() {
	defer d.wg.Done()
	defer close(d.jobs)
	tick := time.NewTicker(d.o.PollInterval)
	defer tick.Stop()
	var storeDown bool
	for {
		free := d.capacity() - d.heldCount()
		if free > 0 {
			leases, err := d.o.Store.Claim(d.callCtx, ClaimRequest{
				Owner: d.owner, Max: free, Lease: d.o.Lease, GiveUpAfter: 2 * d.o.Retry.MaxAttempts, Now: d.o.Now(),
			})
			storeDown = d.logStore(storeDown, "claiming messages", err)
			for _, l := range leases {
				d.hold(l)
				if l.Takeover {
					d.takeovers.Add(1)
					d.o.Metrics.Add(MetricTakeovers, 1)
					d.o.Log.Info("sms taken over from a lost worker", "id", l.Message.ID, "attempt", l.Message.Attempts)
				}
			}
			for i, l := range leases {
				select {
				case d.jobs <- l: // an idle sender wins over a stop
					continue
				default:
				}
				select {
				case d.jobs <- l:
				case <-d.quit:
					for _, l := range leases[i:] {
						d.release(l)
					}
					return
				}
			}
			if len(leases) == free {
				continue // there may be more
			}
		}
		select {
		case <-d.wake:
		case <-tick.C:
		case <-d.quit:
			return
		}
	}
}

// logStore logs a store failure once per outage and its end.
func (d *Deliverer) logStore(wasDown bool, what string, err error) bool {
	switch {
	case err != nil && !wasDown:
		d.o.Log.Error("store unavailable: "+what, "store", d.o.Store.String(), "err", err)
	case err == nil && wasDown:
		d.o.Log.Info("store available again", "store", d.o.Store.String())
	}
	return err != nil
}

// heldCount is the leases held and reserved, but for those whose outcome
// is being recorded.
func (d *Deliverer) heldCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.busy()
}

// busy is heldCount; d.mu held.
func (d *Deliverer) busy() int { return len(d.held) - len(d.finishing) + d.reserved }

func (d *Deliverer) hold(l Lease) {
	d.mu.Lock()
	d.held[l.Message.ID] = l
	d.mu.Unlock()
}

// drop forgets a lease; it reports whether it was still held (not lost).
func (d *Deliverer) drop(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.held[id]
	delete(d.held, id)
	delete(d.finishing, id)
	return ok
}

// keep renews the held leases every Lease/3 and forgets those taken over.
func (d *Deliverer) keep() {
	defer d.wg.Done()
	tick := time.NewTicker(d.o.Lease / 3)
	defer tick.Stop()
	var storeDown bool
	for {
		select {
		case <-tick.C:
		case <-d.quit:
			return
		}
		d.mu.Lock()
		leases := make([]Lease, 0, len(d.held))
		for id, l := range d.held {
			if !d.finishing[id] { // ended by its outcome's record
				leases = append(leases, l)
			}
		}
		d.mu.Unlock()
		if len(leases) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), d.o.Lease/3)
		lost, err := d.o.Store.Renew(ctx, d.owner, leases, d.o.Lease)
		cancel()
		storeDown = d.logStore(storeDown, "renewing leases", err)
		for _, l := range lost {
			if d.drop(l.Message.ID) {
				d.o.Log.Warn("sms lease lost to another worker", "id", l.Message.ID)
			}
		}
	}
}

// sender delivers what run claims and what Adopt hands over, until run
// closes jobs; adopted leases it has not started then are handed back by
// Stop's releaseAll.
func (d *Deliverer) sender() {
	defer d.wg.Done()
	for {
		select {
		case l, ok := <-d.jobs:
			if !ok {
				return
			}
			d.deliver(l)
		case l := <-d.adopted:
			d.deliver(l)
		}
	}
}

// deliver makes one attempt and records its outcome: sent, failed (a
// permanent error or the last attempt), or back to the store until the
// next attempt is due. A Stop lets the call go on until the drain deadline
// cancels callCtx; then the message is handed back, due at once.
func (d *Deliverer) deliver(l Lease) {
	m := l.Message
	start := d.o.Now()
	err := d.o.Provider.Send(d.callCtx, m)
	now := d.o.Now()
	d.o.Metrics.Observe(MetricProviderLatency, float64(now.Sub(start).Microseconds())/1000)
	m.UpdatedAt = now
	switch {
	case err == nil:
		m.Status, m.LastError, m.SentAt = StatusSent, "", &now
		d.finishLater(l, m)
	case d.callCtx.Err() != nil: // cut short by Stop: the outcome is unknown, another worker retries
		d.release(Lease{Message: m, Entry: l.Entry})
	case IsPermanent(err) || d.o.Retry.Exhausted(m.Attempts):
		m.Status, m.LastError = StatusFailed, err.Error()
		d.finishLater(l, m)
	default:
		wait := d.o.Retry.Backoff(m.Attempts, d.o.Draw())
		next := now.Add(wait)
		m.LastError, m.NextAttemptAt = err.Error(), &next
		d.o.Log.Debug("sms attempt failed, retrying", "id", m.ID, "attempt", m.Attempts, "err", err, "backoff", wait)
		d.retry(Lease{Message: m, Entry: l.Entry})
	}
}

// storeWrite bounds one write of the outcome of an attempt.
func (d *Deliverer) storeWrite() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d.o.Lease)
}

// finishLater records a final outcome (finish) while the sender goes on
// with its next message: the store may keep an outcome a few ms to commit
// it with other writes (SQLite's lazyDelay). The lease stays held, not
// renewed and not counted against the worker's capacity, until the record
// is written; Stop waits for the records before it hands anything back.
func (d *Deliverer) finishLater(l Lease, m Message) {
	d.mu.Lock()
	d.finishing[m.ID] = true
	d.mu.Unlock()
	d.records.Add(1)
	go func() {
		defer d.records.Done()
		d.finish(l, m)
	}()
}

// finish records a final status and ends the lease. If the record cannot be
// written the lease expires and another worker repeats the call, which the
// provider recognises by the message id.
func (d *Deliverer) finish(l Lease, m Message) {
	ctx, cancel := d.storeWrite()
	held, err := d.o.Store.Update(ctx, d.owner, l, m)
	cancel()
	d.drop(m.ID)
	switch {
	case err != nil:
		d.o.Log.Error("sms outcome not recorded; another worker will repeat it", "id", m.ID, "status", m.Status, "err", err)
	case !held:
		d.o.Log.Warn("sms outcome not recorded: the message was taken over", "id", m.ID, "status", m.Status)
	case m.Status == StatusSent:
		d.sent.Add(1)
		d.o.Metrics.Add(MetricSent, 1)
		d.o.Log.Debug("sms sent", "id", m.ID, "attempts", m.Attempts)
	default:
		d.failed.Add(1)
		d.o.Metrics.Add(MetricFailed, 1)
		d.o.Log.Warn("sms failed", "id", m.ID, "attempts", m.Attempts, "err", m.LastError)
	}
}

// release hands a message back to the queue, due at once (a stop).
func (d *Deliverer) release(l Lease) {
	l.Message.UpdatedAt, l.Message.NextAttemptAt = d.o.Now(), nil
	if d.giveBack(l) {
		d.released.Add(1)
	}
}

// retry puts a message whose attempt failed back to the queue until
// l.Message.NextAttemptAt. If that cannot be written, the lease expires and
// a takeover makes the next attempt, sooner than the backoff: attempts stay
// bounded, and the provider recognises a repeat by the message id.
func (d *Deliverer) retry(l Lease) {
	if d.giveBack(l) {
		d.retries.Add(1)
		d.o.Metrics.Add(MetricRetried, 1)
	}
}

// giveBack ends the lease with Store.Release; it reports whether the store
// took the message back.
func (d *Deliverer) giveBack(l Lease) bool {
	if !d.drop(l.Message.ID) {
		return false
	}
	ctx, cancel := d.storeWrite()
	defer cancel()
	held, err := d.o.Store.Release(ctx, d.owner, l, l.Message)
	if err != nil || !held {
		d.o.Log.Warn("sms not handed back; its lease will expire instead", "id", l.Message.ID, "held", held, "err", err)
		return false
	}
	return true
}

// releaseAll hands back every lease still held (a stop cut calls short, or
// leases claimed but never started).
func (d *Deliverer) releaseAll() {
	d.mu.Lock()
	leases := make([]Lease, 0, len(d.held))
	for _, l := range d.held {
		leases = append(leases, l)
	}
	d.mu.Unlock()
	for _, l := range leases {
		d.release(l)
	}
	if n := d.released.Load(); n > 0 {
		d.o.Log.Info("sms handed back to the queue for the other workers", "count", n)
	}
}

// newDraw returns a uniform draw from [0, 1) of its own, randomly seeded
// source, safe for the concurrent senders.
func newDraw() func() float64 {
	var mu sync.Mutex
	r := mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64()))
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		return r.Float64()
	}
}
