package sms

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"
)

// Status is where a message is in its delivery:
//
//	queued → sending → sent → delivered | undelivered
//	                 ↘ failed
//	                 ↘ queued (a retry, due at its next_attempt_at)
//	queued → cancelled
//
// queued: accepted and stored, waiting for a worker to claim it once it is
// due: at once, at its send_at, or after a failed attempt at its
// next_attempt_at (also after a graceful stop handed it back). sending: a
// worker holds its lease and is calling the provider. sent: the provider
// accepted it. delivered: the provider reported the handset got it (the
// simulated providers never report this; a real provider's delivery report
// does). undelivered: the provider's receipt reports a failed delivery;
// Message.Delivery has the provider's code (receipts.go). failed: given up
// after its attempts, LastError tells why. cancelled: DELETE
// /api/sms/{id} withdrew it while it was queued (Store.Cancel).
type Status string

// The message statuses.
const (
	StatusQueued    Status = "queued"
	StatusSending   Status = "sending"
	StatusSent      Status = "sent"
	StatusDelivered Status = "delivered"
	StatusFailed    Status = "failed"
	StatusCancelled Status = "cancelled"
)

// Final reports whether no worker will touch a message in status s again.
func (s Status) Final() bool {
	return s == StatusSent || s == StatusDelivered || s == StatusUndelivered || s == StatusFailed || s == StatusCancelled
}

// Message is the record of one accepted message, as GET /api/sms/{id} shows it.
type Message struct {
	ID        string     `json:"id"`
	Phone     string     `json:"phone"`
	Template  string     `json:"template,omitempty"`
	Text      string     `json:"text"`
	Status    Status     `json:"status"`
	Attempts  int        `json:"attempts"`             // provider calls started, including one cut short by a lost worker
	LastError string     `json:"last_error,omitempty"` // why the last attempt failed
	Worker    int        `json:"worker"`               // the worker that accepted it
	CreatedAt time.Time  `json:"created_at"`           // accepted (and stored)
	UpdatedAt time.Time  `json:"updated_at"`           // last status or attempt change
	SentAt    *time.Time `json:"sent_at,omitempty"`    // the provider accepted it
	Delivery  *Delivery  `json:"delivery,omitempty"`   // the provider's delivery receipt (receipts.go)
	// SendAt is the time the client asked the message to go at (send_at);
	// nil for "at once".
	SendAt *time.Time `json:"send_at,omitempty"`
	// NextAttemptAt, while the message is queued, is the earliest time a
	// worker may claim it: its SendAt, or after a failed attempt the end of
	// its backoff. Nil when it is due at once or not queued. It is the
	// store's one "not before" time, for schedules and retries alike.
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
}

// Store is the durable pipeline shared by every worker of a gateway: message
// records, the delivery queue with leases, the per-phone rate limit and the
// idempotency keys. Two implementations: the embedded SQLite store (one
// host, several processes) and the Redis store (several hosts); see
// OpenStore. All methods are safe for concurrent use.
//
// Leases: Claim hands a worker (owner) queued messages that are due, and
// messages whose lease has expired, each with a lease of the given
// duration. The owner keeps it with Renew, records progress with Update,
// and ends it with a final Update or with Release (hand back: due at once
// after a graceful stop, at its next attempt's time after a failed one).
// Update, Renew and Release act only while the lease is still the owner's:
// once another worker has taken the message over they report held == false
// and change nothing, so a worker that was stopped or slow cannot overwrite
// the newer owner's record.
type Store interface {
	// Accept stores a new queued message in one atomic step with the
	// rate-limit decision and the idempotency key. The message is durable
	// when Accept returns without error. See AcceptResult for refusals. A
	// message with SendAt is not claimed before that time. With
	// req.Lease.Owner set, a store may lease the new message to that owner
	// in the same step (AcceptResult.Lease), as Claim would have.
	Accept(ctx context.Context, req AcceptRequest) (AcceptResult, error)
	// Get returns the record of id, ErrNotFound if there is none.
	Get(ctx context.Context, id string) (Message, error)
	// Claim leases up to c.Max deliverable messages to c.Owner: queued ones
	// that are due (NextAttemptAt passed or nil) and those whose lease has
	// expired (Lease.Takeover). Each comes back in
	// status sending with Attempts already counting the attempt about to be
	// made. A message that would exceed c.GiveUpAfter attempts is recorded
	// failed instead and not returned. Claim does not wait for messages.
	Claim(ctx context.Context, c ClaimRequest) ([]Lease, error)
	// Renew extends owner's leases by lease from now and returns those it
	// no longer holds.
	Renew(ctx context.Context, owner string, leases []Lease, lease time.Duration) (lost []Lease, err error)
	// Update writes m (status, attempts, last error, timestamps) under the
	// lease; when m.Status is final the lease ends and the message leaves
	// the queue.
	Update(ctx context.Context, owner string, l Lease, m Message) (held bool, err error)
	// Release hands a message back to the queue, status queued, attempts
	// and last error kept, for any worker to claim from m.NextAttemptAt on
	// (at once when nil): a graceful stop's hand-back and a retry's wait
	// are the same step, so no worker holds a message while it waits.
	Release(ctx context.Context, owner string, l Lease, m Message) (held bool, err error)
	// Cancel withdraws a queued message (scheduled, waiting for a retry or
	// not yet claimed): status cancelled, never claimed again. It returns
	// the record after the call and whether this call cancelled it.
	// Cancelling a cancelled message changes nothing and is no error; a
	// message in any other status (sending or final) is left alone and the
	// error is ErrNotCancellable with that record; an unknown id is
	// ErrNotFound. Cancel and Claim exclude each other: a message is either
	// cancelled or claimed, never both.
	Cancel(ctx context.Context, id string, now time.Time) (m Message, cancelled bool, err error)
	// Stats returns the queue's depth and its oldest message.
	Stats(ctx context.Context) (StoreStats, error)
	// Close releases the store's connections.
	Close() error
	// String names the store for logs, without credentials.
	String() string
}

// AcceptRequest is one message to store.
type AcceptRequest struct {
	Message  Message // ID, Phone, Template, Text, Worker, CreatedAt set
	PhoneKey string  // the rate-limit key (NormalizePhone's digits)
	// IdempotencyKey, when not empty, makes a repeated request with the same
	// key return the first accepted message instead of storing another.
	IdempotencyKey string
	// Fingerprint identifies the request's content, so that a key reused
	// for a different message is refused (ErrIdempotencyConflict).
	Fingerprint string
	RateLimit   int           // messages per phone per RateWindow
	RateWindow  time.Duration // sliding window of the limit
	KeyTTL      time.Duration // how long an idempotency key is remembered
	// MaxDepth, when > 0, refuses the message (AcceptResult.Full) while
	// the queue holds this many messages.
	MaxDepth int
	// Lease, when its Owner is set, asks for the new message to be leased
	// to the accepting worker in the same commit: status sending, its
	// first attempt counted, as Claim leaves it. A message stored this way
	// costs no Claim, and its worker needs no wake-up. Ignored for a
	// message with SendAt, and by a store that cannot (Redis): the message
	// is then queued for any worker's Claim.
	Lease LeaseRequest
}

// LeaseRequest is a lease asked for at accept (AcceptRequest.Lease).
type LeaseRequest struct {
	Owner    string        // the worker that will deliver it; "" for none
	Duration time.Duration // the lease, as ClaimRequest.Lease
}

// AcceptResult is the outcome of Accept.
type AcceptResult struct {
	// ID is the accepted message: the new one, or on a replay the one
	// first accepted under the idempotency key.
	ID string
	// Replayed: the idempotency key was seen before; nothing new was stored.
	Replayed bool
	// RetryAfter > 0: refused by the rate limit; nothing was stored and the
	// next message to the phone is allowed after this long.
	RetryAfter time.Duration
	// Full: refused because the queue holds AcceptRequest.MaxDepth
	// messages; nothing was stored.
	Full bool
	// Lease is the new message's lease when the store granted
	// AcceptRequest.Lease; nil when it did not (the message is queued) or
	// nothing new was stored.
	Lease *Lease
}

// ClaimRequest is the argument of Store.Claim.
type ClaimRequest struct {
	Owner string        // unique per worker process
	Max   int           // at most this many leases
	Lease time.Duration // lease duration
	// GiveUpAfter bounds the attempts of a message that keeps losing its
	// workers (a message that crashes them, say).
	GiveUpAfter int
	Now         time.Time
}

// Lease is a claimed message and the handle of its lease.
type Lease struct {
	Message Message
	// Entry is the store's handle of the queue entry (the Redis stream
	// entry id; empty for SQLite).
	Entry string
	// Takeover: the message was leased by another worker whose lease
	// expired (that worker died, hung or lost the store).
	Takeover bool
}

// StoreStats is the queue as a whole, for the metrics.
type StoreStats struct {
	Depth int // messages queued (scheduled and retrying ones included) or sending
	// Oldest is when the longest-waiting due message became due: the
	// creation or send_at of the oldest message ready for or in delivery;
	// messages waiting for a future time do not count. Zero if none.
	Oldest time.Time
}

// Errors of the stores.
var (
	// ErrNotFound: Get of an id that has no record.
	ErrNotFound = errors.New("message not found")
	// ErrIdempotencyConflict: an Idempotency-Key reused for another message.
	ErrIdempotencyConflict = errors.New("idempotency key already used for a different message")
	// ErrNotCancellable: Cancel of a message that is sending or final.
	ErrNotCancellable = errors.New("message is no longer queued")
)

// claimTransition is what Claim does to a message it leases: count the
// attempt about to be made, status sending, no longer waiting for a time.
// A message past giveUpAfter attempts is failed instead (workers kept being
// lost while delivering it); claimTransition reports whether m is leased.
func claimTransition(m *Message, now time.Time, giveUpAfter int) bool {
	m.UpdatedAt, m.NextAttemptAt = now, nil
	if m.Attempts+1 > giveUpAfter {
		m.Status, m.LastError = StatusFailed, giveUpError(*m)
		return false
	}
	m.Attempts++
	m.Status = StatusSending
	return true
}

// giveUpError is the LastError of a message failed by Claim.
func giveUpError(m Message) string {
	msg := fmt.Sprintf("gave up after %d attempts: workers were lost during delivery", m.Attempts)
	if m.LastError != "" {
		msg += " (last provider error: " + m.LastError + ")"
	}
	return msg
}

// NewID returns a message id: 26 base32 characters, unique across workers,
// hosts and restarts without coordination — the time of the call in
// milliseconds (10 characters, in an alphabet sorted as ASCII, so ids sort
// by it) then 80 bits of crypto/rand (16 characters). Ids made close in
// time are close in the stores' indexes: a group commit of new messages
// writes a few B-tree pages instead of one page per message.
func NewID() string { return newIDAt(time.Now()) }

// idTimeDigits is base32 in ASCII order: the same characters as
// crypto/rand.Text's, sorted.
const idTimeDigits = "234567ABCDEFGHIJKLMNOPQRSTUVWXYZ"

func newIDAt(t time.Time) string {
	var b [26]byte
	ms := uint64(t.UnixMilli())
	for i := 9; i >= 0; i-- {
		b[i] = idTimeDigits[ms&31]
		ms >>= 5
	}
	copy(b[10:], rand.Text())
	return string(b[:])
}

// validID reports whether id has the shape NewID produces.
func validID(id string) bool {
	if len(id) != 26 {
		return false
	}
	for _, r := range id {
		if !(r >= 'A' && r <= 'Z' || r >= '2' && r <= '7') {
			return false
		}
	}
	return true
}
