package providertest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Mode is how a fake answers calls that pass authentication.
type Mode int

// The fake modes.
const (
	Normal   Mode = iota // send and answer success
	Fail                 // answer 503 (a provider outage)
	Throttle             // answer the provider's account throttling error
	Hang                 // answer nothing until the caller gives up or the fake closes
)

// Sent is one message a fake accepted.
type Sent struct {
	Phone        string
	OutID        string // Aliyun OutId / Tencent SessionContext
	TemplateCode string
	SignName     string
	Params       string // Aliyun: the TemplateParam JSON; Tencent: the values joined by ","
	ProviderID   string // BizId / SerialNo returned
	At           time.Time
}

// base is what both fakes share: the server, the mode, the counters, the
// accepted messages and the receipt pushes.
type base struct {
	srv    *httptest.Server
	now    func() time.Time
	closed chan struct{}
	pushes sync.WaitGroup

	mu           sync.Mutex
	mode         Mode
	sent         []Sent
	illegal      map[string]bool // phones answered with the provider's illegal-number error
	undelivered  map[string]bool // phones whose receipts say not delivered
	receiptURL   string
	receiptDelay time.Duration
	failureRate  float64    // share of Normal-mode calls answered as in Fail mode
	rng          *rand.Rand // draws of failureRate

	calls    atomic.Int64 // every request
	rejected atomic.Int64 // requests refused by authentication
	seq      atomic.Int64
}

func (b *base) start(tb testing.TB, h http.Handler) {
	b.closed = make(chan struct{})
	b.illegal = map[string]bool{}
	b.undelivered = map[string]bool{}
	if b.now == nil {
		b.now = time.Now
	}
	b.srv = httptest.NewServer(h)
	tb.Cleanup(b.close)
}

// close stops hanging calls and the server, then waits for the receipt
// pushes in flight.
func (b *base) close() {
	select {
	case <-b.closed:
		return
	default:
		close(b.closed)
	}
	b.srv.CloseClientConnections()
	b.srv.Close()
	b.pushes.Wait()
}

// URL is the fake's endpoint, http://127.0.0.1:PORT.
func (b *base) URL() string { return b.srv.URL }

// SetMode changes how the fake answers from the next call on.
func (b *base) SetMode(m Mode) {
	b.mu.Lock()
	b.mode = m
	b.mu.Unlock()
}

// SetFailureRate makes a share p of the calls in Normal mode fail as in
// Fail mode, drawn from a generator seeded with seed.
func (b *base) SetFailureRate(p float64, seed uint64) {
	b.mu.Lock()
	b.failureRate, b.rng = p, rand.New(rand.NewPCG(seed, seed+1))
	b.mu.Unlock()
}

// currentMode is the mode for this call: Fail for a Normal call drawn to fail.
func (b *base) currentMode() Mode {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.mode == Normal && b.failureRate > 0 && b.rng.Float64() < b.failureRate {
		return Fail
	}
	return b.mode
}

// hang blocks until the request's context ends or the fake closes.
func (b *base) hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-b.closed:
	}
}

// SetIllegal makes the fake refuse phone as an illegal number (phone in
// the form the provider receives it).
func (b *base) SetIllegal(phone string) {
	b.mu.Lock()
	b.illegal[phone] = true
	b.mu.Unlock()
}

func (b *base) isIllegal(phone string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.illegal[phone]
}

// SetUndelivered makes the receipts for phone report a failed delivery.
func (b *base) SetUndelivered(phone string) {
	b.mu.Lock()
	b.undelivered[phone] = true
	b.mu.Unlock()
}

// PushReceiptsTo makes the fake push a receipt to url (the gateway's
// receipt endpoint, token included) after delay for every message it
// accepts from now on.
func (b *base) PushReceiptsTo(url string, delay time.Duration) {
	b.mu.Lock()
	b.receiptURL, b.receiptDelay = url, delay
	b.mu.Unlock()
}

// Calls is the number of requests received; Rejected of those refused by
// authentication (signature, key, timestamp, nonce).
func (b *base) Calls() int64    { return b.calls.Load() }
func (b *base) Rejected() int64 { return b.rejected.Load() }

// Sent returns the messages accepted so far.
func (b *base) Sent() []Sent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Sent(nil), b.sent...)
}

// accept records s and schedules its receipt, built by receipt(delivered).
func (b *base) accept(s Sent, receipt func(delivered bool) []byte) {
	b.mu.Lock()
	b.sent = append(b.sent, s)
	url, delay, delivered := b.receiptURL, b.receiptDelay, !b.undelivered[s.Phone]
	b.mu.Unlock()
	if url == "" {
		return
	}
	body := receipt(delivered)
	b.pushes.Add(1)
	go func() {
		defer b.pushes.Done()
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-b.closed:
			return
		}
		// Like the providers, push again after a 5xx, a network error or
		// no answer within 2 s (they keep trying for up to three days; the
		// fake for 30 s).
		giveUp := time.Now().Add(30 * time.Second)
		for time.Now().Before(giveUp) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			status, err := PushReceipt(ctx, url, body)
			cancel()
			if err == nil && status < 500 {
				return
			}
			select {
			case <-time.After(300 * time.Millisecond):
			case <-b.closed:
				return
			}
		}
	}()
}

// PushReceipt POSTs body (a receipt push) to url and returns the status.
func PushReceipt(ctx context.Context, url string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// requestID is a fresh id in the providers' UUID-like form.
func (b *base) requestID() string {
	n := b.seq.Add(1)
	return fmt.Sprintf("F655A8D5-B967-440B-8683-%012X", n)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	w.Write(body)
}
