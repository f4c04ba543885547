package provider_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
	"github.com/nodeagent/node-agent/testdata/gateway/provider/providertest"
)

// pair is an Aliyun fake as primary and a Tencent fake as secondary behind
// one Router.
type pair struct {
	a      *providertest.Aliyun
	b      *providertest.Tencent
	router *provider.Router
}

func newPair(t *testing.T, aliyunSecretUsed string, breaker provider.BreakerPolicy) pair {
	t.Helper()
	fa, fb := newAliyunFake(t), newTencentFake(t)
	pa := newAliyun(t, fa.URL(), aliyunKeyID, aliyunSecretUsed, nil)
	pb := newTencent(t, fb.URL(), tencentID, tencentSecret, nil)
	r, err := provider.NewRouter([]provider.Provider{pa, pb}, provider.RouterOptions{Breaker: breaker, AttemptTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return pair{fa, fb, r}
}

// outcome is one paced message's fate.
type outcome struct {
	at        time.Time
	provider  string
	failovers int
	attempts  int
	err       error
}

// TestFailoverOutageAndRecovery: the primary answers 503 for 5 s under
// paced traffic. Messages move to the secondary within the breaker's bound
// (Failures messages fail over, then the breaker sends them straight to
// the secondary, with one probe per cool-down), none fails, and traffic
// returns to the primary within a cool-down of its recovery.
func TestFailoverOutageAndRecovery(t *testing.T) {
	const (
		pace     = 50 * time.Millisecond
		outage   = 5 * time.Second
		coolDown = time.Second
		failures = 3
	)
	p := newPair(t, aliyunSecret, provider.BreakerPolicy{Failures: failures, CoolDown: coolDown})
	policy := provider.RetryPolicy{MaxAttempts: 3, FirstBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	ctx := context.Background()

	var outcomes []outcome
	n := 0
	send := func() outcome {
		n++
		res, attempts, err := provider.Deliver(ctx, p.router, policy, verifyMessage(fmt.Sprintf("m%d", n), "+8613800138000"), nil, nil)
		o := outcome{time.Now(), res.Provider, res.Failovers, attempts, err}
		outcomes = append(outcomes, o)
		return o
	}
	tick := time.NewTicker(pace)
	defer tick.Stop()
	runUntil := func(end time.Time, stop func(outcome) bool) {
		for time.Now().Before(end) {
			<-tick.C
			if o := send(); stop != nil && stop(o) {
				return
			}
		}
	}

	runUntil(time.Now().Add(time.Second), nil)
	before := len(outcomes)
	callsA := p.a.Calls()

	p.a.SetMode(providertest.Fail)
	outageStart := time.Now()
	runUntil(outageStart.Add(outage), nil)
	duringOutage := outcomes[before:]
	callsAOutage := p.a.Calls() - callsA

	p.a.SetMode(providertest.Normal)
	recovered := time.Now()
	var back time.Time
	runUntil(recovered.Add(3*coolDown), func(o outcome) bool {
		if o.provider == "ali" && back.IsZero() {
			back = o.at
		}
		return false
	})

	for i, o := range outcomes {
		if o.err != nil {
			t.Fatalf("message %d failed: %v", i+1, o.err)
		}
	}
	for _, o := range outcomes[:before] {
		if o.provider != "ali" {
			t.Fatalf("before the outage a message went to %s", o.provider)
		}
	}
	viaB, failedOver := 0, 0
	for _, o := range duringOutage {
		if o.provider == "tc" {
			viaB++
		}
		if o.failovers > 0 {
			failedOver++
		}
	}
	// Calls that reach the failing primary: the Failures that open the
	// breaker, then one probe per cool-down.
	maxProbes := int(outage/coolDown) + 1
	if int(callsAOutage) > failures+maxProbes || failedOver > failures+maxProbes {
		t.Errorf("during the outage the primary got %d calls and %d messages failed over; bound %d", callsAOutage, failedOver, failures+maxProbes)
	}
	if viaB != len(duringOutage) {
		t.Errorf("%d of %d messages during the outage went to the secondary, want all", viaB, len(duringOutage))
	}
	if back.IsZero() || back.Sub(recovered) > coolDown+2*pace+200*time.Millisecond {
		t.Errorf("traffic returned to the primary %v after its recovery, want within the cool-down %v", back.Sub(recovered), coolDown)
	}
	tail := outcomes[len(outcomes)-10:]
	for _, o := range tail {
		if o.provider != "ali" {
			t.Fatalf("after recovery a message still went to %s", o.provider)
		}
	}
	stats := p.router.Stats()
	t.Logf("%d messages; outage: %d, primary calls %d, failovers %d; back after %v; stats %+v",
		len(outcomes), len(duringOutage), callsAOutage, failedOver, back.Sub(recovered), stats)
	if stats[0].Opens < 1 || stats[0].State != "closed" || stats[0].Failures != callsAOutage {
		t.Errorf("primary stats %+v: want ≥1 open, closed now, %d failures", stats[0], callsAOutage)
	}
}

func TestPermanentErrorIsNotRetriedNorFailedOver(t *testing.T) {
	p := newPair(t, aliyunSecret, provider.BreakerPolicy{Failures: 3, CoolDown: time.Second})
	p.a.SetIllegal("13800000000")
	waits := 0
	wait := func(context.Context, time.Duration) error { waits++; return nil }
	_, attempts, err := provider.Deliver(ctxT(t), p.router, provider.RetryPolicy{MaxAttempts: 5}, verifyMessage("m1", "+8613800000000"), wait, nil)
	wantCode(t, err, "isv.MOBILE_NUMBER_ILLEGAL", provider.Permanent)
	if attempts != 1 || waits != 0 || p.a.Calls() != 1 || p.b.Calls() != 0 {
		t.Fatalf("attempts %d, waits %d, primary calls %d, secondary calls %d: want 1, 0, 1, 0", attempts, waits, p.a.Calls(), p.b.Calls())
	}
	if st := p.router.Stats()[0]; st.Rejected != 1 || st.Failures != 0 || st.State != "closed" {
		t.Fatalf("a bad message counted against the provider: %+v", st)
	}
}

func TestAccountErrorFailsOverAndOpensTheBreaker(t *testing.T) {
	p := newPair(t, "wrong-secret", provider.BreakerPolicy{Failures: 2, CoolDown: time.Minute})
	for i := range 5 {
		res, err := p.router.Send(ctxT(t), verifyMessage(fmt.Sprint(i), "+8613800138000"))
		if err != nil || res.Provider != "tc" {
			t.Fatalf("message %d: %+v %v, want sent by the secondary", i, res, err)
		}
	}
	if p.a.Calls() != 2 {
		t.Fatalf("primary with a bad key got %d calls, want 2 (then its breaker opened)", p.a.Calls())
	}
	if st := p.router.Stats()[0]; st.State != "open" || st.Skipped != 3 || st.LastError != "SignatureDoesNotMatch" {
		t.Fatalf("primary stats %+v", st)
	}
}

func TestEveryProviderDownThenBoundedAttempts(t *testing.T) {
	p := newPair(t, aliyunSecret, provider.BreakerPolicy{Failures: 1, CoolDown: time.Minute})
	p.a.SetMode(providertest.Fail)
	p.b.SetMode(providertest.Fail)
	var waited []time.Duration
	wait := func(_ context.Context, d time.Duration) error { waited = append(waited, d); return nil }
	_, attempts, err := provider.Deliver(ctxT(t), p.router, provider.RetryPolicy{MaxAttempts: 4, FirstBackoff: time.Second, MaxBackoff: 60 * time.Second}, verifyMessage("m", "+8613800138000"), wait, func() float64 { return 0 })
	if attempts != 4 || !provider.IsRetryable(err) || !errors.Is(err, provider.ErrNoProvider) {
		t.Fatalf("attempts %d err %v: want 4 attempts ending in the retryable ErrNoProvider", attempts, err)
	}
	if fmt.Sprint(waited) != "[1s 2s 4s]" {
		t.Fatalf("waits %v, want [1s 2s 4s]", waited)
	}
	if p.a.Calls() != 1 || p.b.Calls() != 1 {
		t.Fatalf("calls %d/%d: open breakers must keep later attempts off the providers", p.a.Calls(), p.b.Calls())
	}
}

func TestHangCountsAsFailureAfterTheAttemptTimeout(t *testing.T) {
	fa, fb := newAliyunFake(t), newTencentFake(t)
	r, err := provider.NewRouter([]provider.Provider{
		newAliyun(t, fa.URL(), aliyunKeyID, aliyunSecret, nil),
		newTencent(t, fb.URL(), tencentID, tencentSecret, nil),
	}, provider.RouterOptions{AttemptTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	fa.SetMode(providertest.Hang)
	res, err := r.Send(ctxT(t), verifyMessage("m", "+8613800138000"))
	if err != nil || res.Provider != "tc" || res.Failovers != 1 {
		t.Fatalf("%+v %v: want sent by the secondary after one failover", res, err)
	}
	if st := r.Stats()[0]; st.Timeouts != 1 || st.Failures != 1 {
		t.Fatalf("primary stats %+v: want 1 timeout counted as a failure", st)
	}
}

// TestIntermittentHangsOpenTheBreakerByRate: the primary hangs on every
// other call, so it never fails Failures times in a row; the timeout rate
// takes it out, and later messages go straight to the secondary.
func TestIntermittentHangsOpenTheBreakerByRate(t *testing.T) {
	fa, fb := newAliyunFake(t), newTencentFake(t)
	r, err := provider.NewRouter([]provider.Provider{
		newAliyun(t, fa.URL(), aliyunKeyID, aliyunSecret, nil),
		newTencent(t, fb.URL(), tencentID, tencentSecret, nil),
	}, provider.RouterOptions{
		AttemptTimeout: 200 * time.Millisecond,
		Breaker:        provider.BreakerPolicy{Failures: 3, CoolDown: time.Hour, TimeoutWindow: 4, TimeoutRate: 0.5},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 { // hang, answer, hang, answer, hang: the fifth fills the window at 2 of 4
		mode, want := providertest.Normal, "ali"
		if i%2 == 0 {
			mode, want = providertest.Hang, "tc"
		}
		fa.SetMode(mode)
		res, err := r.Send(ctxT(t), verifyMessage(fmt.Sprintf("m%d", i), "+8613800138000"))
		if err != nil || res.Provider != want {
			t.Fatalf("message %d: %+v %v, want sent by %s", i, res, err, want)
		}
	}
	fa.SetMode(providertest.Normal)
	res, err := r.Send(ctxT(t), verifyMessage("m5", "+8613800138000"))
	st := r.Stats()[0]
	if err != nil || res.Provider != "tc" || res.Failovers != 0 || st.State != "open" || st.Opens != 1 || st.Timeouts != 3 || st.Skipped != 1 {
		t.Fatalf("%+v %v, primary %+v: want the primary's breaker open by rate and the message sent by the secondary directly", res, err, st)
	}
}
