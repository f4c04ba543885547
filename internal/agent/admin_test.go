package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
)

// notifyAsync runs Notify on its own goroutine; the reply arrives on the
// returned channel.
func (fr *fakeRun) notifyAsync(command string) <-chan string {
	out := make(chan string, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r, err := fr.sup.Notify(ctx, command)
		if err != nil {
			r = "ERR " + err.Error()
		}
		out <- r
	}()
	return out
}

// notifyErr runs command and returns its reply and error.
func (fr *fakeRun) notifyErr(command string) (string, error) {
	fr.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return fr.sup.Notify(ctx, command)
}

func (fr *fakeRun) notify(command string) string {
	fr.t.Helper()
	select {
	case r := <-fr.notifyAsync(command):
		return r
	case <-time.After(10 * time.Second):
		fr.t.Fatalf("no reply to %q", command)
		return ""
	}
}

// commands returns the admin commands p received.
func (p *fakeProc) commands() []wire.Command {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]wire.Command(nil), p.cmds...)
}

// hello makes p a linked worker (not ready).
func (fr *fakeRun) hello(p *fakeProc) {
	fr.os.post(procMessage{p: p, msg: wire.Message{Kind: wire.KindHello, Body: []byte(`{"version":1}`)}})
	fr.sync()
}

func (fr *fakeRun) ready(p *fakeProc) {
	fr.os.post(procMessage{p: p, msg: wire.Message{Kind: wire.KindReady}})
	fr.sync()
}

func (fr *fakeRun) reply(p *fakeProc, id uint64, text string) {
	b, _ := json.Marshal(wire.Reply{ID: id, Text: text})
	fr.os.post(procMessage{p: p, msg: wire.Message{Kind: wire.KindReply, Body: b}})
}

// waitCommands waits until p received n admin commands.
func (fr *fakeRun) waitCommands(p *fakeProc, n int) []wire.Command {
	fr.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		fr.sync()
		if c := p.commands(); len(c) >= n {
			return c
		}
	}
	fr.t.Fatalf("worker %d got %d commands, want %d", p.pid, len(p.commands()), n)
	return nil
}

func (fr *fakeRun) stop(ps ...*fakeProc) {
	fr.os.post(signalled{syscall.SIGTERM})
	fr.sync()
	for _, p := range ps {
		fr.exit(p, 0)
	}
}

func TestFakeAgentCommands(t *testing.T) {
	fr := startFakeWith(t, 2, func(s *Supervisor) { s.version = "1.2.3" })
	a, b := fr.started(), fr.started()
	fr.hello(a)
	fr.hello(b)
	if got := fr.notify("tars.viewversion"); got != "1.2.3" {
		t.Fatalf("viewversion: %q", got)
	}
	if got := fr.notify("preheatCheck"); got != "not ready" {
		t.Fatalf("preheatCheck with starting workers: %q", got)
	}
	fr.ready(a)
	if got := fr.notify("preheatCheck"); got != "not ready" {
		t.Fatalf("preheatCheck with one worker starting: %q", got)
	}
	fr.ready(b)
	if got := fr.notify("preheatCheck"); got != "success" {
		t.Fatalf("preheatCheck with every worker ready: %q", got)
	}
	if got, err := fr.notifyErr("tars.setloglevel loud"); !errors.Is(err, ErrBadArgument) || err.Error() != "tars.setloglevel failed: unknown log level [loud]! (DEBUG, INFO, WARN, ERROR or NONE)" {
		t.Fatalf("bad level: %q, %v", got, err)
	}
	reply := fr.notifyAsync("tars.setloglevel warn")
	for _, p := range []*fakeProc{a, b} {
		c := fr.waitCommands(p, 1)
		if c[0].Cmd != "tars.setloglevel" || c[0].Data != "WARN" {
			t.Fatalf("worker got %+v", c)
		}
		fr.reply(p, c[0].ID, "ok")
	}
	if got := <-reply; got != "tars.setloglevel WARN succ" {
		t.Fatalf("setloglevel: %q", got)
	}
	reply = fr.notifyAsync("tars.setloglevel error")
	fr.reply(a, fr.waitCommands(a, 2)[1].ID, "ok")
	fr.exit(b, 0) // b dies before it applies the level
	if got := <-reply; got != "ERR tars.setloglevel ERROR succ in the agent; not in\n1(1002): exited with code 0 before replying" {
		t.Fatalf("setloglevel with a worker gone: %q", got)
	}
	b = fr.started()
	fr.readyLinked(b)
	if fr.sup.level != "ERROR" {
		t.Fatalf("agent level %q", fr.sup.level)
	}
	if got, err := fr.notifyErr(""); !errors.Is(err, ErrUnknownCommand) {
		t.Fatalf("empty command: %q, %v", got, err)
	}
	var st Status
	if err := json.Unmarshal([]byte(fr.notify("agent.status")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Version != "1.2.3" || st.Instances != 2 || len(st.Workers) != 2 || st.Ready() != 2 ||
		st.Workers[0].ID != 0 || st.Workers[0].PID != a.pid || st.Workers[1].State != "ready" || !st.Workers[1].Linked {
		t.Fatalf("status %+v", st)
	}
	fr.stop(a, b)
}

func TestFakeForwardGathersReplies(t *testing.T) {
	fr := startFake(t, 3)
	a, b, c := fr.started(), fr.started(), fr.started()
	fr.hello(a)
	fr.hello(b) // c stays a plain binary
	reply := fr.notifyAsync("tars.viewstatus  verbose")
	ca, cb := fr.waitCommands(a, 1)[0], fr.waitCommands(b, 1)[0]
	if ca.Cmd != "tars.viewstatus" || ca.Data != "verbose" || ca.ID == cb.ID {
		t.Fatalf("forwarded %+v and %+v", ca, cb)
	}
	fr.reply(b, cb.ID, "b fine")
	fr.reply(a, 999, "stray") // unknown id: ignored
	fr.reply(a, ca.ID, "a fine")
	got := <-reply
	want := "0(1001): a fine\n1(1002): b fine\n2(1003): plain binary, no admin channel"
	if got != want {
		t.Fatalf("reply\n%s\nwant\n%s", got, want)
	}

	// A worker that does not answer in time, one that exits first.
	reply = fr.notifyAsync("custom.cmd x")
	ca, cb = fr.waitCommands(a, 2)[1], fr.waitCommands(b, 2)[1]
	fr.exit(b, 7)
	fr.sync()
	fr.clock.Advance(defaultReplyTimeout)
	got = <-reply
	if !strings.HasPrefix(got, "ERR ") || !strings.Contains(got, "0(1001): no reply within 3s") || !strings.Contains(got, "1(1002): exited with code 7 before replying") {
		t.Fatalf("reply %q", got)
	}
	fr.reply(a, ca.ID, "too late") // after the deadline: ignored
	fr.sync()
	if len(fr.sup.gathers.byID) != 0 {
		t.Fatalf("%d gathers left", len(fr.sup.gathers.byID))
	}
	b2 := fr.started() // b's replacement
	fr.stop(a, b2, c)
}

func TestFakeNotifyAfterStop(t *testing.T) {
	fr := startFake(t, 1)
	p := fr.started()
	fr.stop(p)
	<-fr.sup.quit
	if _, err := fr.sup.Notify(context.Background(), "tars.viewversion"); !errors.Is(err, ErrStopped) {
		t.Fatalf("Notify after Run: %v", err)
	}
	if _, err := fr.sup.Status(context.Background()); !errors.Is(err, ErrStopped) {
		t.Fatalf("Status after Run: %v", err)
	}
	fr.sup.Shutdown() // does not block
}

func TestFakeShutdownRequestIsGraceful(t *testing.T) {
	fr := startFake(t, 1)
	p := fr.started()
	fr.hello(p)
	fr.sup.Shutdown()
	fr.sup.Shutdown() // a second request is not a second signal
	fr.sync()
	if p.killed() {
		t.Fatal("a repeated shutdown request killed the worker")
	}
	if p.lastSent() != wire.KindStop {
		t.Fatalf("worker got %v, want a stop request", p.sent)
	}
	fr.exit(p, 0)
}

func TestFakeScale(t *testing.T) {
	fr := startFake(t, 2)
	a, b := fr.started(), fr.started()
	fr.hello(a)
	fr.hello(b)
	for _, bad := range []string{"agent.scale", "agent.scale 0", "agent.scale x", "agent.scale 5000"} {
		if got, err := fr.notifyErr(bad); !errors.Is(err, ErrBadArgument) || !strings.HasPrefix(err.Error(), "agent.scale wants") {
			t.Fatalf("%q: %q, %v", bad, got, err)
		}
	}
	if got := fr.notify("agent.scale 4"); got != "ok: 4 workers (was 2)" {
		t.Fatalf("scale up: %q", got)
	}
	c, d := fr.started(), fr.started()
	if c.slot != 2 || d.slot != 3 {
		t.Fatalf("new slots %d %d", c.slot, d.slot)
	}
	fr.hello(c)
	fr.hello(d)
	if got := fr.notify("agent.scale 1"); got != "ok: 1 worker (was 4)" {
		t.Fatalf("scale down: %q", got)
	}
	for _, p := range []*fakeProc{b, c, d} {
		if p.lastSent() != wire.KindStop {
			t.Fatalf("worker %d got %v, want a stop request", p.slot, p.sent)
		}
	}
	if a.lastSent() == wire.KindStop {
		t.Fatal("slot 0 was stopped")
	}
	for _, p := range []*fakeProc{b, c, d} {
		fr.exit(p, 0) // requested: no restart, no exception
	}
	fr.noStart()
	st, _ := fr.sup.Status(context.Background())
	if st.Instances != 1 || len(st.Workers) != 1 || st.Exceptions != 0 {
		t.Fatalf("after scale down: %+v", st)
	}
	fr.stop(a)
}

func (p *fakeProc) lastSent() wire.Kind {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.sent) == 0 {
		return 0
	}
	return p.sent[len(p.sent)-1]
}
