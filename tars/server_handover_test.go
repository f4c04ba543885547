package tars

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestPauseHandsConnectionsOver is an agent's upgrade in place in one
// process: the old server pauses (a request in flight is answered first),
// a new server takes its listening socket and its connections (Adopt),
// the old one goes; a request written after the pause, one split across
// the hand-over and a connection made while no one accepted are all
// answered by the new server, on the same connections.
func TestPauseHandsConnectionsOver(t *testing.T) {
	oldH := &testAdmin{notified: make(chan string, 10)}
	old := NewAdminServer(oldH, ServerOptions{})
	if err := old.Listen("tcp -h 127.0.0.1 -p 0 -t 3000"); err != nil {
		t.Fatal(err)
	}
	go old.Serve()
	defer old.Close()
	busy, idle := dial(t, old), dial(t, old)
	if r := call(t, idle, adminRequest(1, FuncNotify, &NotifyArgs{Command: "hello"})); r.IRet != ServerSuccess {
		t.Fatalf("first call: %+v", r)
	}
	<-oldH.notified
	if err := WriteFrame(busy, adminRequest(2, FuncNotify, &NotifyArgs{Command: "slow 300ms"})); err != nil {
		t.Fatal(err)
	}
	<-oldH.notified // in flight
	split := Frame(adminRequest(3, FuncNotify, &NotifyArgs{Command: "split"}))
	if _, err := busy.Write(split[:7]); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	paused, err := old.Pause(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := readResponse(t, busy); r.IRequestID != 2 || r.IRet != ServerSuccess {
		t.Fatalf("the request in flight at the pause: %+v", r)
	}
	if len(paused.Conns) != 2 {
		t.Fatalf("%d connections paused, want 2", len(paused.Conns))
	}
	// After the pause: a request on the idle connection, the rest of the
	// split one, a new connection.
	if err := WriteFrame(idle, adminRequest(4, FuncNotify, &NotifyArgs{Command: "after"})); err != nil {
		t.Fatal(err)
	}
	if _, err := busy.Write(split[7:]); err != nil {
		t.Fatal(err)
	}
	fresh := dial(t, old) // waits in the backlog
	if err := WriteFrame(fresh, adminRequest(5, FuncNotify, &NotifyArgs{Command: "new"})); err != nil {
		t.Fatal(err)
	}

	newH := &testAdmin{}
	next := NewAdminServer(newH, ServerOptions{})
	ln, err := net.FileListener(paused.Listener)
	if err != nil {
		t.Fatal(err)
	}
	if err := next.ListenOn("tcp -h 127.0.0.1 -p 0 -t 3000", ln); err != nil {
		t.Fatal(err)
	}
	for _, pc := range paused.Conns {
		c, err := net.FileConn(pc.File)
		if err != nil {
			t.Fatal(err)
		}
		if err := next.Adopt(c, pc.Buffered); err != nil {
			t.Fatal(err)
		}
	}
	paused.Close()
	old.Close() // the exec
	go next.Serve()
	defer next.Close()
	for _, c := range []struct {
		conn net.Conn
		id   int32
		want string
	}{{idle, 4, "after"}, {busy, 3, "split"}, {fresh, 5, "new"}} {
		r := readResponse(t, c.conn)
		var res StringResult
		if err := Unmarshal(r.SBuffer, &res); err != nil {
			t.Fatal(err)
		}
		if r.IRequestID != c.id || r.IRet != ServerSuccess || res.Ret != "ok: "+c.want {
			t.Fatalf("request %d after the hand-over: %+v %q", c.id, r, res.Ret)
		}
	}
	if cmds, _ := newH.seen(); len(cmds) != 3 {
		t.Fatalf("the new server handled %q, want the three requests after the pause", cmds)
	}
	if cmds, _ := oldH.seen(); len(cmds) != 2 {
		t.Fatalf("the old server handled %q, want the two before", cmds)
	}
}

// TestPauseResume: a pause that is not followed by a hand-over is undone;
// a detached request is not waited for and its connection is left out.
func TestPauseResume(t *testing.T) {
	h := &testAdmin{notified: make(chan string, 10)}
	s := startAdmin(t, AdminFuncs{OnNotify: func(ctx context.Context, cmd string) (string, error) {
		if cmd == "detach" {
			Detach(ctx)
			<-ctx.Done()
			return "", ctx.Err()
		}
		return h.Notify(ctx, cmd)
	}}, ServerOptions{})
	detached, plain := dial(t, s), dial(t, s)
	if err := WriteFrame(detached, adminRequest(1, FuncNotify, &NotifyArgs{Command: "detach"})); err != nil {
		t.Fatal(err)
	}
	call(t, plain, adminRequest(2, FuncNotify, &NotifyArgs{Command: "x"}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	paused, err := s.Pause(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil || len(paused.Conns) != 1 {
		t.Fatalf("paused %d connections (%v), want the plain one, at once", len(paused.Conns), ctx.Err())
	}
	if err := WriteFrame(plain, adminRequest(3, FuncNotify, &NotifyArgs{Command: "during"})); err != nil {
		t.Fatal(err)
	}
	paused.Close()
	s.Resume()
	if r := readResponse(t, plain); r.IRequestID != 3 || r.IRet != ServerSuccess {
		t.Fatalf("after Resume: %+v", r)
	}
	if r := call(t, dial(t, s), adminRequest(4, FuncNotify, &NotifyArgs{Command: "y"})); r.IRet != ServerSuccess {
		t.Fatalf("a new connection after Resume: %+v", r)
	}
}
