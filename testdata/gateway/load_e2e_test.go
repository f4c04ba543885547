package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/sms"
)

// sendLoad is a paced stream of sends, as a careful client makes them: each
// message has its own Idempotency-Key; a transport error (the worker holding
// the connection was killed) or a 503 with Retry-After is retried with the
// same key until a 202. A share of the sends repeat an earlier message with
// its key, which must come back with the same id.
type sendLoad struct {
	addrs  []string // gateways, used in turn
	client *http.Client
	phone  func(i int) string
	// sign, when set, signs each attempt anew (fresh nonce): see send.
	sign func(r *http.Request, body []byte)

	mu          sync.Mutex
	ids         map[int]string // message number → id of its first 202
	accepted    map[string]bool
	repeats     int // sends that repeated an earlier key
	transport   int // transport errors, retried
	unavailable int // 503 with Retry-After, retried
	limited     int // 429
	unexpected  []string
	lost        []int // messages never answered 202
}

func newSendLoad(addrs ...string) *sendLoad {
	return &sendLoad{
		addrs:    addrs,
		client:   &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		phone:    func(i int) string { return fmt.Sprintf("+86139%08d", i) },
		ids:      map[int]string{},
		accepted: map[string]bool{},
	}
}

// run sends rate messages a second for d, repeating an earlier message
// (same key and body) with probability dupShare, and returns when every
// send has its answer.
func (l *sendLoad) run(rate int, d time.Duration, dupShare float64) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 128)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.Now().Add(d)
	next := 0
	for time.Now().Before(end) {
		<-tick.C
		i, dup := next, false
		if next > 10 && rand.Float64() < dupShare {
			i, dup = rand.IntN(next), true
		} else {
			next++
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			l.send(i, dup)
		}()
	}
	wg.Wait()
}

// send delivers message i until a 202 (or 60 s pass).
func (l *sendLoad) send(i int, dup bool) {
	body := fmt.Sprintf(`{"phone":%q,"content":"message %d"}`, l.phone(i), i)
	key := "msg-" + strconv.Itoa(i)
	deadline := time.Now().Add(60 * time.Second)
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		addr := l.addrs[(i+attempt)%len(l.addrs)]
		req, _ := http.NewRequest("POST", "http://"+addr+"/api/sms/send", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(sms.HeaderIdempotencyKey, key)
		if l.sign != nil {
			// Without GetBody the transport does not resend the request by
			// itself when its connection closes before the answer (it
			// would for one with an Idempotency-Key): that copy would carry
			// a used nonce. This loop retries, signing again.
			req.GetBody = nil
			l.sign(req, []byte(body))
		}
		resp, err := l.client.Do(req)
		if err != nil {
			l.count(&l.transport)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusAccepted:
			var r sms.SendReply
			if err := json.Unmarshal(data, &r); err != nil {
				l.fail("202 with body %q", data)
				return
			}
			l.record(i, r.ID, dup)
			return
		case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
			l.count(&l.unavailable)
			s, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			time.Sleep(time.Duration(max(s, 1)) * time.Second)
		case resp.StatusCode == http.StatusTooManyRequests:
			l.count(&l.limited)
			return
		default:
			l.fail("message %d: %d %s", i, resp.StatusCode, data)
			return
		}
	}
	l.mu.Lock()
	l.lost = append(l.lost, i)
	l.mu.Unlock()
}

func (l *sendLoad) count(n *int) {
	l.mu.Lock()
	*n++
	l.mu.Unlock()
}

func (l *sendLoad) fail(format string, args ...any) {
	l.mu.Lock()
	l.unexpected = append(l.unexpected, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

// record notes message i's id; a repeat must have the first one's id.
func (l *sendLoad) record(i int, id string, dup bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if dup {
		l.repeats++
	}
	if first, ok := l.ids[i]; ok && first != id {
		l.unexpected = append(l.unexpected, fmt.Sprintf("message %d: key repeated, id %s, first answer was %s", i, id, first))
		return
	}
	l.ids[i] = id
	l.accepted[id] = true
}

// acceptedIDs returns the distinct ids answered 202.
func (l *sendLoad) acceptedIDs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := make([]string, 0, len(l.accepted))
	for id := range l.accepted {
		ids = append(ids, id)
	}
	return ids
}

// waitFinal polls GET /api/sms/{id} (on addrs in turn) until every id has a
// final status or within passes, and returns the last record of each.
func waitFinal(ctx context.Context, c *http.Client, addrs []string, ids []string, within time.Duration) map[string]sms.Message {
	recs := map[string]sms.Message{}
	pending := append([]string(nil), ids...)
	deadline := time.Now().Add(within)
	for n := 0; len(pending) > 0 && time.Now().Before(deadline); n++ {
		var still []string
		for i, id := range pending {
			m, ok := getMessage(c, addrs[(n+i)%len(addrs)], id)
			if ok {
				recs[id] = m
			}
			if !ok || !m.Status.Final() {
				still = append(still, id)
			}
		}
		pending = still
		if len(pending) > 0 {
			select {
			case <-ctx.Done():
				return recs
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return recs
}

func jsonDecode(resp *http.Response, v any) error {
	return json.NewDecoder(resp.Body).Decode(v)
}

func getMessage(c *http.Client, addr, id string) (sms.Message, bool) {
	resp, err := c.Get("http://" + addr + "/api/sms/" + id)
	if err != nil {
		return sms.Message{}, false
	}
	defer resp.Body.Close()
	var m sms.Message
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&m) != nil {
		return sms.Message{}, false
	}
	return m, true
}
