package notify

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/tars"
)

func closeWithin(t testing.TB, a *Alarms, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return a.Close(ctx)
}

func info(t testing.TB, c call) tars.ReportInfo {
	t.Helper()
	a, ok := c.args.(*tars.ReportNotifyInfoArgs)
	if !ok || c.fn != tars.FuncReportNotifyInfo {
		t.Fatalf("%s %+v", c.fn, c.args)
	}
	return a.Info
}

// TestAlarmsDelivered: events and alarms arrive in order with the fields
// of SPEC §12; Close flushes.
func TestAlarmsDelivered(t *testing.T) {
	s := startStub(t)
	a, err := NewAlarms(AlarmConfig{Notify: s.proxy(tars.ServantNotify), App: "Sms", Server: "Gateway",
		Set: "sz.a.1", NodeName: "10.0.0.5"})
	if err != nil {
		t.Fatal(err)
	}
	a.Report("", "restart")
	a.Report("4242", "[alarm] worker exit unexpected")
	a.Report("", "[alarm] exiting,exception occurred more than 2 times within 10 seconds")
	a.Report("", "stop")
	if err := closeWithin(t, a, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	base := tars.ReportInfo{Type: tars.ReportTypeReport, App: "Sms", Server: "Gateway", Set: "sz.a.1", NodeName: "10.0.0.5"}
	want := []tars.ReportInfo{base, base, base, base}
	want[0].Message = "restart"
	want[1].Message, want[1].ThreadID, want[1].Level = "[alarm] worker exit unexpected", "4242", tars.NotifyError
	want[2].Message, want[2].Level = "[alarm] exiting,exception occurred more than 2 times within 10 seconds", tars.NotifyError
	want[3].Message = "stop"
	for i, w := range want {
		if got := info(t, s.next(t)); got != w {
			t.Errorf("message %d:\n got %+v\nwant %+v", i, got, w)
		}
	}
	if st := a.Stats(); st != (AlarmStats{Sent: 4}) {
		t.Fatalf("%+v", st)
	}
	a.Report("", "late") // after Close: dropped, never a panic
	if st := a.Stats(); st.Dropped != 1 {
		t.Fatalf("%+v", st)
	}
	if err := closeWithin(t, a, time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestAlarmsLocator: the default NotifyObj is found through the locator.
func TestAlarmsLocator(t *testing.T) {
	s := startStub(t)
	a, err := NewAlarms(AlarmConfig{Locator: startQuery(t, s.srv.Endpoint()), App: "A", Server: "S"})
	if err != nil {
		t.Fatal(err)
	}
	a.Report("", "restart")
	if got := info(t, s.next(t)); got.Message != "restart" {
		t.Fatalf("%+v", got)
	}
	if err := closeWithin(t, a, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := NewAlarms(AlarmConfig{App: "A", Server: "S"}); !errors.Is(err, tars.ErrEndpoint) {
		t.Fatalf("NotifyObj without a locator: %v", err)
	}
}

// TestAlarmsQueueFull: Report never blocks; what does not fit is dropped,
// counted and logged.
func TestAlarmsQueueFull(t *testing.T) {
	s := startStub(t)
	s.hold = make(chan struct{})
	log := newLog()
	a, err := NewAlarms(AlarmConfig{Notify: s.proxy(tars.ServantNotify), App: "A", Server: "S", QueueSize: 2, Logger: log.logger()})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		a.Report("", "[alarm] x") // returns at once although the server holds every call
	}
	dropped := a.Stats().Dropped
	if dropped < 7 {
		t.Fatalf("%d dropped, want ≥ 7 (2 queued, at most 1 in flight)", dropped)
	}
	close(s.hold)
	if err := closeWithin(t, a, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if st := a.Stats(); st.Sent+st.Dropped != 10 || st.Failed != 0 {
		t.Fatalf("%+v", st)
	}
	log.wait(t, "alarm(s) dropped")
}

// TestAlarmsCloseDeadline: Close gives up on a notify server that does not
// answer, counts the rest as dropped and reports it.
func TestAlarmsCloseDeadline(t *testing.T) {
	s := startStub(t)
	s.hold = make(chan struct{}) // never released
	a, err := NewAlarms(AlarmConfig{Notify: s.proxy(tars.ServantNotify), App: "A", Server: "S"})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		a.Report("", "stop")
	}
	err = closeWithin(t, a, 50*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v", err)
	}
	if st := a.Stats(); st.Dropped != 3 || st.Sent != 0 {
		t.Fatalf("%+v", st)
	}
}

// TestAlarmsUnreachable: undeliverable alarms are counted as failed and the
// outage is logged once.
func TestAlarmsUnreachable(t *testing.T) {
	log := newLog()
	a, err := NewAlarms(AlarmConfig{Notify: "tars.tarsnotify.NotifyObj@" + refusedEndpoint(t), App: "A", Server: "S", Logger: log.logger()})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		a.Report("1", "[alarm] worker exit unexpected")
	}
	if err := closeWithin(t, a, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if st := a.Stats(); st.Failed != 5 {
		t.Fatalf("%+v", st)
	}
	if n := log.count("failed"); n != 1 {
		t.Fatalf("%d failure lines:\n%s", n, log)
	}
}
