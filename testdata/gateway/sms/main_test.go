package sms

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// envHelper selects a helper role when the test binary re-executes itself.
const envHelper = "SMS_TEST_HELPER"

// TestMain runs the helper processes of the cross-process tests, and checks
// that no test leaves goroutines behind.
func TestMain(m *testing.M) {
	switch os.Getenv(envHelper) {
	case "":
		goleak.VerifyTestMain(m)
	case "store":
		os.Exit(storeHelper(os.Args[len(os.Args)-3:]))
	default:
		fmt.Fprintln(os.Stderr, "unknown helper", os.Getenv(envHelper))
		os.Exit(2)
	}
}

// storeHelper is a process that shares a store: args are SPEC KEYS ROUNDS.
// It waits for a line on stdin (so that every helper starts together), then
// makes ROUNDS passes over KEYS phones, one Accept per phone per pass, and
// prints how many were accepted.
func storeHelper(args []string) int {
	keys, err1 := strconv.Atoi(args[1])
	rounds, err2 := strconv.Atoi(args[2])
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "usage: SPEC KEYS ROUNDS")
		return 2
	}
	ctx := context.Background()
	st, err := OpenStore(ctx, args[0], "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer st.Close()
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		fmt.Fprintln(os.Stderr, "barrier:", err)
		return 1
	}
	allowed := 0
	for range rounds {
		for k := range keys {
			res, err := st.Accept(ctx, acceptReq(newMessage(fmt.Sprintf("+491510000%04d", k)), ""))
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			if res.RetryAfter == 0 {
				allowed++
			}
		}
	}
	fmt.Println(allowed)
	return 0
}

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// sleepRecorder is a SleepFunc that returns at once and remembers what it
// was asked to wait.
type sleepRecorder struct {
	mu     sync.Mutex
	waited []time.Duration
}

func (s *sleepRecorder) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waited = append(s.waited, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepRecorder) Waited() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waited...)
}

// providerFunc adapts a function to Provider.
type providerFunc func(ctx context.Context, m Message) error

func (f providerFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }

// okProvider delivers everything at once.
func okProvider() Provider {
	return providerFunc(func(context.Context, Message) error { return nil })
}

// discardLog drops records.
func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// newTestGateway returns a gateway on a fresh data dir with instant, fake
// time defaults; cfg and hooks override.
func newTestGateway(t *testing.T, cfg Config, hooks Hooks) *Gateway {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 5 * time.Millisecond
	}
	if hooks.Sleep == nil {
		hooks.Sleep = new(sleepRecorder).Sleep
	}
	if hooks.Provider == nil {
		hooks.Provider = okProvider()
	}
	g, err := New(cfg, discardLog(), hooks)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.store.Close() })
	return g
}

// newMessage is a message to phone as the HTTP handler makes it.
func newMessage(phone string) Message {
	now := time.Now()
	return Message{ID: NewID(), Phone: phone, Text: "hi", Status: StatusQueued, CreatedAt: now, UpdatedAt: now}
}

// acceptReq is the AcceptRequest of m with the default limit.
func acceptReq(m Message, key string) AcceptRequest {
	return AcceptRequest{
		Message: m, PhoneKey: strings.TrimPrefix(m.Phone, "+"), IdempotencyKey: key, Fingerprint: fingerprint(m),
		RateLimit: DefaultRateLimit, RateWindow: DefaultRateWindow, KeyTTL: DefaultKeyTTL,
	}
}

// blockingProvider blocks every Send until release is closed.
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

// waitTimeout waits for cmd, killing it after d.
func waitTimeout(cmd *exec.Cmd, d time.Duration) error {
	t := time.AfterFunc(d, func() { cmd.Process.Kill() })
	defer t.Stop()
	return cmd.Wait()
}

func itoa[T ~int | ~int64](n T) string { return strconv.FormatInt(int64(n), 10) }
