package providertest

import (
	"context"
	"sync"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
)

// Status is a message's delivery status in MemorySink.
type Status string

// The statuses MemorySink knows.
const (
	StatusSent        Status = "sent"
	StatusDelivered   Status = "delivered"
	StatusUndelivered Status = "undelivered"
)

// Record is one message in MemorySink.
type Record struct {
	ID         string
	Provider   string
	ProviderID string
	Status     Status
	Code       string // the receipt's status code
	Updates    int    // receipts applied to it (at most 1)
}

// MemorySink is an in-memory provider.ReceiptSink for tests: the
// contract the durable store implements, on a map.
type MemorySink struct {
	mu      sync.Mutex
	byID    map[string]*Record
	byProv  map[string]string // provider + "\x00" + provider id → message id
	unknown int
}

// NewMemorySink returns an empty sink.
func NewMemorySink() *MemorySink {
	return &MemorySink{byID: map[string]*Record{}, byProv: map[string]string{}}
}

// Sent records that message id was accepted by the provider as providerID.
func (s *MemorySink) Sent(id string, res provider.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byID[id] = &Record{ID: id, Provider: res.Provider, ProviderID: res.ProviderID, Status: StatusSent}
	s.byProv[res.Provider+"\x00"+res.ProviderID] = id
}

// ApplyReceipt moves a sent record to delivered or undelivered once; a
// receipt for a final record is a Duplicate, one matching no record (by
// provider id, else by message id at the same provider) Unknown.
func (s *MemorySink) ApplyReceipt(_ context.Context, r provider.Receipt) (provider.ReceiptOutcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byProv[r.Provider+"\x00"+r.ProviderID]
	if rec, known := s.byID[r.MessageID]; !ok && known && rec.Provider == r.Provider && rec.ProviderID == "" {
		id, ok = r.MessageID, true
	}
	if !ok {
		s.unknown++
		return provider.Unknown, nil
	}
	rec := s.byID[id]
	if rec.Status != StatusSent {
		return provider.Duplicate, nil
	}
	rec.Status, rec.Code = StatusUndelivered, r.Code
	if r.Delivered {
		rec.Status = StatusDelivered
	}
	rec.Updates++
	return provider.Applied, nil
}

// Get returns a copy of the record of message id.
func (s *MemorySink) Get(id string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byID[id]
	if !ok {
		return Record{}, false
	}
	return *r, true
}

// Count returns how many records have status st.
func (s *MemorySink) Count(st Status) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.byID {
		if r.Status == st {
			n++
		}
	}
	return n
}

// Unknown is the number of receipts that matched no record.
func (s *MemorySink) Unknown() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unknown
}
