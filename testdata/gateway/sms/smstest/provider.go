package smstest

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// sendRequest is the body of a send (sms.HTTPSendRequest on the client
// side): the provider's own API, decoded independently.
type sendRequest struct {
	OutID string `json:"out_id"`
	Phone string `json:"phone"`
	Text  string `json:"text"`
}

// Provider is a simulated SMS provider service for sms.HTTPProvider: each
// call takes Latency, then fails with 503 with probability FailureRate, else
// sends the message — unless its out id was sent before, which is
// acknowledged without a second SMS, as a real provider does with an out id.
// It counts calls and SMS per out id, so a test can prove that no message
// was sent twice and none is missing.
type Provider struct {
	latency     time.Duration
	failureRate float64

	mu       sync.Mutex
	rng      *rand.Rand
	calls    map[string]int       // provider calls per out id
	sms      map[string]int       // SMS actually sent per out id: 0 or 1
	sentAt   map[string]time.Time // when each out id was sent
	repeated int                  // calls for an out id already sent
	failed   int                  // calls answered 503
	srv      *httptest.Server
}

// NewProvider starts the service on a loopback port.
func NewProvider(latency time.Duration, failureRate float64, seed uint64) *Provider {
	p := &Provider{
		latency: latency, failureRate: failureRate,
		rng:   rand.New(rand.NewPCG(seed, seed+1)),
		calls: map[string]int{}, sms: map[string]int{}, sentAt: map[string]time.Time{},
	}
	p.srv = httptest.NewServer(p)
	return p
}

// URL is the send endpoint, for $SMS_PROVIDER_URL.
func (p *Provider) URL() string { return p.srv.URL + "/send" }

// Close stops the service.
func (p *Provider) Close() { p.srv.Close() }

// ServeHTTP implements the provider's API.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req sendRequest
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&req) != nil || req.OutID == "" || req.Phone == "" {
		http.Error(w, `{"code":"InvalidParameter"}`, http.StatusBadRequest)
		return
	}
	if p.latency > 0 {
		select {
		case <-time.After(p.latency):
		case <-r.Context().Done():
			return
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls[req.OutID]++
	if p.sms[req.OutID] > 0 {
		p.repeated++
		w.Write([]byte(`{"code":"OK","duplicate":true}`))
		return
	}
	if p.rng.Float64() < p.failureRate {
		p.failed++
		http.Error(w, `{"code":"ServiceUnavailable"}`, http.StatusServiceUnavailable)
		return
	}
	p.sms[req.OutID]++
	p.sentAt[req.OutID] = time.Now()
	w.Write([]byte(`{"code":"OK"}`))
}

// Counts is a snapshot of what the provider saw.
type Counts struct {
	SMS      map[string]int       // SMS sent per out id
	Calls    map[string]int       // calls per out id
	SentAt   map[string]time.Time // when each out id was sent
	Repeated int                  // calls for an out id already sent (deduplicated)
	Failed   int                  // calls failed on purpose
}

// Counts returns a copy of the counters.
func (p *Provider) Counts() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := Counts{SMS: map[string]int{}, Calls: map[string]int{}, SentAt: map[string]time.Time{}, Repeated: p.repeated, Failed: p.failed}
	for k, v := range p.sms {
		c.SMS[k] = v
	}
	for k, v := range p.calls {
		c.Calls[k] = v
	}
	for k, v := range p.sentAt {
		c.SentAt[k] = v
	}
	return c
}
