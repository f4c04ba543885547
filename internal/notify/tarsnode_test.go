package notify

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/tars"
)

// TestNodeReporter: reportVersion once, first; keepAlive at start and every
// period, with the agent's identity.
func TestNodeReporter(t *testing.T) {
	s := startStub(t)
	const period = 40 * time.Millisecond
	r, err := StartNodeReporter(NodeConfig{Node: s.proxy(tars.ServantNode), App: "Sms", Server: "Gateway",
		Pid: 4242, Version: "1.2.3", Period: period})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	first := s.next(t)
	if v, ok := first.args.(*tars.ReportVersionArgs); !ok || *v != (tars.ReportVersionArgs{App: "Sms", ServerName: "Gateway", Version: "1.2.3"}) {
		t.Fatalf("first call %s %+v", first.fn, first.args)
	}
	var times []time.Time
	for len(times) < 6 {
		c := s.next(t)
		a, ok := c.args.(*tars.KeepAliveArgs)
		if !ok {
			t.Fatalf("%s after reportVersion", c.fn)
		}
		if a.ServerInfo != (tars.ServerInfo{Application: "Sms", ServerName: "Gateway", Pid: 4242}) {
			t.Fatalf("%+v", a.ServerInfo)
		}
		times = append(times, c.at)
	}
	var gaps []time.Duration
	for i := 1; i < len(times); i++ {
		gaps = append(gaps, times[i].Sub(times[i-1]))
	}
	slices.Sort(gaps)
	if median := gaps[len(gaps)/2]; median < period/2 || median > 3*period {
		t.Fatalf("keepAlive gaps %v, period %v", gaps, period)
	}
}

// TestNodeReporterOutage: failures are logged once per outage, recovery
// once; reportVersion is retried until it succeeds; the reporter
// reconnects to a tarsnode that was not there at first.
func TestNodeReporterOutage(t *testing.T) {
	s := startStub(t)
	s.setRet(-1) // "I do not manage this server"
	log := newLog()
	r, err := StartNodeReporter(NodeConfig{Node: s.proxy(tars.ServantNode), App: "A", Server: "S", Pid: 1,
		Period: 10 * time.Millisecond, Logger: log.logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	versions := 0
	for keepAlives := 0; keepAlives < 5; {
		switch s.next(t).fn {
		case tars.FuncReportVersion:
			versions++
		case tars.FuncKeepAlive:
			keepAlives++
		}
	}
	if versions < 5 {
		t.Fatalf("reportVersion sent %d times while failing", versions)
	}
	s.setRet(0)
	log.wait(t, "keepAlive to tarsnode "+s.proxy(tars.ServantNode)+" works again")
	log.wait(t, "reportVersion to tarsnode "+s.proxy(tars.ServantNode)+" works again")
	if n := log.count("failed"); n != 2 {
		t.Fatalf("%d failure lines:\n%s", n, log)
	}
	if !strings.Contains(log.String(), "does not manage A.S") {
		t.Fatal(log)
	}
	// Once sent, reportVersion is not sent again.
	for range len(s.calls) {
		<-s.calls
	}
	for range 3 {
		if c := s.next(t); c.fn != tars.FuncKeepAlive {
			t.Fatalf("%s after recovery", c.fn)
		}
	}

	// No tarsnode at first, then one appears at that address.
	ep := refusedEndpoint(t)
	log = newLog()
	r2, err := StartNodeReporter(NodeConfig{Node: "tars.tarsnode.ServerObj@" + ep, App: "A", Server: "S", Pid: 1,
		Period: 10 * time.Millisecond, Logger: log.logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	log.wait(t, "keepAlive to tarsnode tars.tarsnode.ServerObj@"+ep+" failed")
	late := &stub{calls: make(chan call, 1000)}
	late.srv = tars.NewServer(late.handle, tars.ServerOptions{})
	listen(t, late.srv, ep)
	for late.next(t).fn != tars.FuncKeepAlive {
	}
	log.wait(t, "keepAlive to tarsnode tars.tarsnode.ServerObj@"+ep+" works again")
	if n := log.count("keepAlive to tarsnode tars.tarsnode.ServerObj@" + ep + " failed"); n != 1 {
		t.Fatalf("%d keepAlive failure lines:\n%s", n, log)
	}
}

// TestNodeReporterCloseAbandonsCall: Close does not wait for a tarsnode
// that never answers.
func TestNodeReporterCloseAbandonsCall(t *testing.T) {
	s := startStub(t)
	s.hold = make(chan struct{}) // never released
	r, err := StartNodeReporter(NodeConfig{Node: s.proxy(tars.ServantNode), App: "A", Server: "S", Period: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { r.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for the call")
	}
	r.Close() // idempotent
}

func TestNodeReporterConfigErrors(t *testing.T) {
	for _, c := range []NodeConfig{
		{App: "A", Server: "S"},
		{Node: "tars.tarsnode.ServerObj@tcp -p 1", App: "A", Server: "S"},
		{Node: "tars.tarsnode.ServerObj", App: "A", Server: "S"}, // no endpoint, no locator
		{Node: "tars.tarsnode.ServerObj@tcp -h 127.0.0.1 -p 1", Server: "S"},
	} {
		if r, err := StartNodeReporter(c); err == nil {
			r.Close()
			t.Errorf("%+v: no error", c)
		}
	}
}

func TestSplitName(t *testing.T) {
	for name, want := range map[string][2]string{
		"Sms.Gateway": {"Sms", "Gateway"}, "gateway": {DefaultApp, "gateway"}, "A.B.C": {"A", "B.C"},
	} {
		if app, server := SplitName(name); app != want[0] || server != want[1] {
			t.Errorf("%q: %q %q", name, app, server)
		}
	}
}
