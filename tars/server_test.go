package tars

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testAdmin is an AdminHandler recording what it is asked. Notify answers
// "ok: CMD", except: "fail" → an error, "panic" → a panic, "slow D" →
// "done" after D (a Go duration), "block" → waits for ctx.
type testAdmin struct {
	mu        sync.Mutex
	commands  []string
	shutdowns int
	notified  chan string // optional: every command, as it arrives
}

func (h *testAdmin) Shutdown(context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.shutdowns++
	return nil
}

func (h *testAdmin) Notify(ctx context.Context, cmd string) (string, error) {
	h.mu.Lock()
	h.commands = append(h.commands, cmd)
	h.mu.Unlock()
	if h.notified != nil {
		h.notified <- cmd
	}
	name, data, _ := strings.Cut(cmd, " ")
	switch name {
	case "fail":
		return "", errors.New("the agent has stopped")
	case "panic":
		panic("boom")
	case "slow":
		d, _ := time.ParseDuration(data)
		select {
		case <-time.After(d):
			return "done", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	case "block":
		<-ctx.Done()
		return "", ctx.Err()
	}
	return "ok: " + cmd, nil
}

func (h *testAdmin) seen() ([]string, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.commands...), h.shutdowns
}

// startServer serves h on a free loopback port until the test ends.
func startServer(t testing.TB, s *Server) *Server {
	t.Helper()
	if err := s.Listen("tcp -h 127.0.0.1 -p 0 -t 3000"); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	t.Cleanup(func() {
		s.Close()
		// ErrClosed: Close came before Serve even started.
		if err := <-served; err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

func startAdmin(t testing.TB, h AdminHandler, opts ServerOptions) *Server {
	return startServer(t, NewAdminServer(h, opts))
}

func dial(t testing.TB, s *Server) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func adminRequest(id int32, fn string, args Struct) *RequestPacket {
	req := &RequestPacket{IVersion: VersionTARS, IRequestID: id, SServantName: ServantAdmin, SFuncName: fn, ITimeout: 3000}
	if args != nil {
		req.SBuffer = Marshal(args)
	}
	return req
}

// call writes req on c and reads one ResponsePacket.
func call(t testing.TB, c net.Conn, req *RequestPacket) *ResponsePacket {
	t.Helper()
	if err := WriteFrame(c, req); err != nil {
		t.Fatal(err)
	}
	return readResponse(t, c)
}

func readResponse(t testing.TB, c net.Conn) *ResponsePacket {
	t.Helper()
	body, err := ReadPacket(c, 0)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := DecodeResponsePacket(body)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestAdminServerFunctions(t *testing.T) {
	h := &testAdmin{}
	s := startAdmin(t, h, ServerOptions{})
	c := dial(t, s)
	str := func(resp *ResponsePacket) string {
		var r StringResult
		if err := Unmarshal(resp.SBuffer, &r); err != nil {
			t.Fatalf("%+v: %v", resp, err)
		}
		return r.Ret
	}
	// Any servant name is accepted.
	req := adminRequest(1, FuncNotify, &NotifyArgs{Command: "tars.viewstatus"})
	req.SServantName = "App.Server.AdminObj"
	if resp := call(t, c, req); resp.IRet != 0 || resp.IRequestID != 1 || str(resp) != "ok: tars.viewstatus" {
		t.Fatalf("notify: %+v", resp)
	}
	resp := call(t, c, adminRequest(2, FuncGetPid, nil))
	var pid LongResult
	if err := Unmarshal(resp.SBuffer, &pid); err != nil || pid.Ret != int64(os.Getpid()) || resp.IRet != 0 {
		t.Fatalf("getPid: %+v %v", resp, err)
	}
	resp = call(t, c, adminRequest(3, FuncPing, nil))
	var ping IntResult
	if err := Unmarshal(resp.SBuffer, &ping); err != nil || ping.Ret != 0 || resp.IRet != 0 {
		t.Fatalf("tars_ping: %+v %v", resp, err)
	}
	if resp := call(t, c, adminRequest(4, "nosuch", nil)); resp.IRet != ServerNoFuncErr || !strings.Contains(resp.SResultDesc, "nosuch") {
		t.Fatalf("unknown function: %+v", resp)
	}
	if resp := call(t, c, adminRequest(5, FuncNotify, &NotifyArgs{Command: "fail"})); resp.IRet != ServerUnknownErr || resp.SResultDesc != "the agent has stopped" {
		t.Fatalf("handler error: %+v", resp)
	}
	if resp := call(t, c, adminRequest(6, FuncNotify, &NotifyArgs{Command: "panic"})); resp.IRet != ServerUnknownErr {
		t.Fatalf("handler panic: %+v", resp)
	}
	if resp := call(t, c, adminRequest(7, FuncNotify, nil)); resp.IRet != ServerDecodeErr {
		t.Fatalf("notify without its argument: %+v", resp)
	}
	// An unknown command is the handler's to answer.
	if resp := call(t, c, adminRequest(8, FuncNotify, &NotifyArgs{Command: "no.such.command x"})); resp.IRet != 0 || str(resp) != "ok: no.such.command x" {
		t.Fatalf("unknown command: %+v", resp)
	}
	// The request's own timeout ends the handler: InvokeTimeout, not the
	// context's error text.
	late := adminRequest(10, FuncNotify, &NotifyArgs{Command: "block"})
	late.ITimeout = 50
	if resp := call(t, c, late); resp.IRet != InvokeTimeout || !strings.Contains(resp.SResultDesc, "timeout of 50 ms") {
		t.Fatalf("timed-out notify: %+v", resp)
	}
	if resp := call(t, c, adminRequest(9, FuncShutdown, nil)); resp.IRet != 0 || len(resp.SBuffer) != 0 {
		t.Fatalf("shutdown: %+v", resp)
	}
	cmds, shutdowns := h.seen()
	if len(cmds) != 5 || shutdowns != 1 {
		t.Fatalf("handler saw %q and %d shutdowns", cmds, shutdowns)
	}
}

// TestAdminServerTUP answers the TUP v2 and v3 notify requests that
// @tars/stream encoded (the committed vectors), and getPid/tars_ping in
// TUP, with a RequestPacket carrying the result under "".
func TestAdminServerTUP(t *testing.T) {
	s := startAdmin(t, &testAdmin{}, ServerOptions{})
	c := dial(t, s)
	vectors := committedVectors(t)
	readTUP := func(version int16) (*RequestPacket, *TUPAttributes) {
		t.Helper()
		body, err := ReadPacket(c, 0)
		if err != nil {
			t.Fatal(err)
		}
		p, err := DecodeRequestPacket(body)
		if err != nil {
			t.Fatal(err)
		}
		a, err := DecodeTUP(p.IVersion, p.SBuffer)
		if err != nil || p.IVersion != version || p.Status[StatusResultCode] != "0" {
			t.Fatalf("%+v %v", p, err)
		}
		return p, a
	}
	for name, version := range map[string]int16{"tupV3Notify": VersionTUPSimple, "tupV2Notify": VersionTUPComplex} {
		frame, err := hex.DecodeString(vectors[name])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(frame); err != nil {
			t.Fatal(err)
		}
		p, a := readTUP(version)
		if got, err := a.String(""); err != nil || got != "ok: tars.viewstatus" || p.IRequestID != 7 || p.SFuncName != FuncNotify {
			t.Fatalf("%s: %q %v %+v", name, got, err, p)
		}

		WriteFrame(c, &RequestPacket{IVersion: version, IRequestID: 8, SFuncName: FuncGetPid, SBuffer: NewTUP(version).Encode()})
		_, a = readTUP(version)
		data, _, _ := a.Get("")
		var pid int64
		if err := NewReader(data).ReadInt64(&pid, 0, true); err != nil || pid != int64(os.Getpid()) {
			t.Fatalf("getPid: %d %v", pid, err)
		}
		WriteFrame(c, &RequestPacket{IVersion: version, IRequestID: 9, SFuncName: FuncPing, SBuffer: NewTUP(version).Encode()})
		if _, a = readTUP(version); a.Names()[0] != "" {
			t.Fatalf("tars_ping: %v", a.Names())
		}
	}
}

func committedVectors(t testing.TB) map[string]string {
	t.Helper()
	data, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]string
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestAdminServerOneway: a one-way notify reaches the handler and gets no
// reply; the next normal call's reply is the only frame on the wire.
func TestAdminServerOneway(t *testing.T) {
	h := &testAdmin{notified: make(chan string, 1)}
	s := startAdmin(t, h, ServerOptions{})
	c := dial(t, s)
	req := adminRequest(1, FuncNotify, &NotifyArgs{Command: "oneway"})
	req.CPacketType = PacketOneway
	if err := WriteFrame(c, req); err != nil {
		t.Fatal(err)
	}
	if got := <-h.notified; got != "oneway" {
		t.Fatal(got)
	}
	if resp := call(t, c, adminRequest(2, FuncPing, nil)); resp.IRequestID != 2 {
		t.Fatalf("the one-way call was answered: %+v", resp)
	}
}

// TestAdminServerPipelined: several requests in one write are all answered,
// and a slow one does not hold up the others of its connection.
func TestAdminServerPipelined(t *testing.T) {
	s := startAdmin(t, &testAdmin{}, ServerOptions{})
	c := dial(t, s)
	var batch []byte
	batch = AppendFrame(batch, adminRequest(1, FuncNotify, &NotifyArgs{Command: "slow 200ms"}))
	for id := int32(2); id <= 10; id++ {
		batch = AppendFrame(batch, adminRequest(id, FuncNotify, &NotifyArgs{Command: fmt.Sprint(id)}))
	}
	if _, err := c.Write(batch); err != nil {
		t.Fatal(err)
	}
	var order []int32
	for range 10 {
		order = append(order, readResponse(t, c).IRequestID)
	}
	if order[9] != 1 {
		t.Fatalf("the slow call should be answered last: %v", order)
	}
}

// TestAdminServerBadInput: garbage, a 2 GiB length prefix, a length < 4, a
// truncated frame, a frame that is not a RequestPacket and a frame over the
// limit each close that connection only; the server keeps serving.
func TestAdminServerBadInput(t *testing.T) {
	var logs syncLog
	s := startAdmin(t, &testAdmin{}, ServerOptions{MaxPacketSize: 64 << 10, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	huge := make([]byte, 4)
	binary.BigEndian.PutUint32(huge, 64<<10+1)
	for _, bad := range [][]byte{
		[]byte("garbage bytes that are not a frame"),
		{0x80, 0, 0, 0, 1, 2, 3},             // 2 GiB
		{0, 0, 0, 2},                         // shorter than its own prefix
		Frame(sampleRequest())[:20],          // truncated
		{0, 0, 0, 8, 0x0a, 0x0b, 0x0c, 0x0d}, // not a RequestPacket
		huge,
	} {
		c := dial(t, s)
		c.Write(bad)
		c.(*net.TCPConn).CloseWrite()
		if _, err := ReadPacket(c, 0); !closed(err) {
			t.Fatalf("%x: %v", bad, err)
		}
	}
	c := dial(t, s)
	resp := call(t, c, adminRequest(5, FuncNotify, &NotifyArgs{Command: "x"}))
	var res StringResult
	if err := Unmarshal(resp.SBuffer, &res); err != nil || res.Ret != "ok: x" || resp.IRequestID != 5 {
		t.Fatalf("%+v %+v %v", resp, res, err)
	}
	if !strings.Contains(logs.String(), `level=WARN msg="tars: closed a connection" from=127.0.0.1:`) {
		t.Fatalf("nothing logged about the bad connections: %q", logs.String())
	}
}

// TestAdminServerRepliesBeforeClosing: a request followed by a half-close
// is still answered.
func TestAdminServerRepliesBeforeClosing(t *testing.T) {
	s := startAdmin(t, &testAdmin{}, ServerOptions{})
	c := dial(t, s)
	WriteFrame(c, adminRequest(1, FuncNotify, &NotifyArgs{Command: "slow 50ms"}))
	c.(*net.TCPConn).CloseWrite()
	if resp := readResponse(t, c); resp.IRet != 0 {
		t.Fatalf("%+v", resp)
	}
	if _, err := ReadPacket(c, 0); !closed(err) {
		t.Fatal(err)
	}
}

// TestAdminServerLargeCommand: a command much larger than the read buffer.
func TestAdminServerLargeCommand(t *testing.T) {
	s := startAdmin(t, &testAdmin{}, ServerOptions{})
	c := dial(t, s)
	cmd := strings.Repeat("x", 300<<10)
	resp := call(t, c, adminRequest(1, FuncNotify, &NotifyArgs{Command: cmd}))
	var res StringResult
	if err := Unmarshal(resp.SBuffer, &res); err != nil || res.Ret != "ok: "+cmd {
		t.Fatalf("%d bytes back, %v", len(res.Ret), err)
	}
}

func TestAdminServerConcurrentConnections(t *testing.T) {
	h := &testAdmin{}
	s := startAdmin(t, h, ServerOptions{})
	const conns, calls = 40, 10
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			for j := range calls {
				cmd := fmt.Sprintf("c%d.%d", i, j)
				if err := WriteFrame(c, adminRequest(int32(j+1), FuncNotify, &NotifyArgs{Command: cmd})); err != nil {
					errs <- err
					return
				}
				body, err := ReadPacket(c, 0)
				if err != nil {
					errs <- err
					return
				}
				resp, _ := DecodeResponsePacket(body)
				var res StringResult
				if err := Unmarshal(resp.SBuffer, &res); err != nil || res.Ret != "ok: "+cmd {
					errs <- fmt.Errorf("%s: %q %v", cmd, res.Ret, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if cmds, _ := h.seen(); len(cmds) != conns*calls {
		t.Fatalf("%d commands", len(cmds))
	}
}

func TestAdminServerMaxConns(t *testing.T) {
	s := startAdmin(t, &testAdmin{}, ServerOptions{MaxConns: 1})
	first := dial(t, s)
	call(t, first, adminRequest(1, FuncPing, nil)) // first is being served
	second := dial(t, s)
	if _, err := ReadPacket(second, 0); !closed(err) {
		t.Fatalf("second connection: %v", err)
	}
	call(t, first, adminRequest(2, FuncPing, nil))
}

// TestAdminServerIdle: an idle connection is closed after the idle
// timeout, but not while its request is being handled.
func TestAdminServerIdle(t *testing.T) {
	s := startAdmin(t, &testAdmin{}, ServerOptions{IdleTimeout: 50 * time.Millisecond})
	c := dial(t, s)
	if resp := call(t, c, adminRequest(1, FuncNotify, &NotifyArgs{Command: "slow 250ms"})); resp.IRet != 0 {
		t.Fatalf("slow call: %+v", resp)
	}
	if _, err := ReadPacket(c, 0); !closed(err) {
		t.Fatalf("idle connection: %v", err)
	}
}

// TestServerCloseCancelsHandlers: Close cancels the handlers' contexts,
// waits for them and makes Serve return nil.
func TestServerCloseCancelsHandlers(t *testing.T) {
	h := &testAdmin{notified: make(chan string, 1)}
	s := NewAdminServer(h, ServerOptions{})
	if err := s.Listen("tcp -h 127.0.0.1 -p 0"); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	c := dial(t, s)
	req := adminRequest(1, FuncNotify, &NotifyArgs{Command: "block"})
	req.ITimeout = 0
	WriteFrame(c, req)
	<-h.notified
	s.Close()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Serve after Close: %v", err)
	}
	if err := s.Listen("tcp -h 127.0.0.1 -p 0"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Listen after Close: %v", err)
	}
	s.Close() // idempotent
}

func TestServerListenErrors(t *testing.T) {
	s := NewServer(func(context.Context, *RequestPacket) Reply { return Reply{} }, ServerOptions{})
	defer s.Close()
	for _, ep := range []string{"udp -h 127.0.0.1 -p 0", "tcp -p 1", "tcp -h 256.1.1.1 -p 0"} {
		if err := s.Listen(ep); err == nil {
			t.Errorf("%q: no error", ep)
		}
	}
	if err := s.Serve(); err == nil {
		t.Error("Serve before Listen")
	}
	if err := s.Listen("tcp -h 127.0.0.1 -p 0 -t 1500"); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(s.Endpoint(), " -t 1500") || !strings.HasPrefix(s.Endpoint(), "tcp -h 127.0.0.1 -p ") {
		t.Fatal(s.Endpoint())
	}
	if err := s.Listen("tcp -h 127.0.0.1 -p 0"); err == nil {
		t.Error("second Listen")
	}
}

func TestAllowList(t *testing.T) {
	a, err := ParseAllowList(" 10.0.0.5; 192.168.1.0/24 ,10.1.*;;::ffff:10.2.0.1, fe80::1")
	if err != nil {
		t.Fatal(err)
	}
	tcp := func(ip string) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: 1} }
	for ip, want := range map[string]bool{
		"10.0.0.5": true, "192.168.1.77": true, "192.168.2.1": false, "10.1.200.3": true,
		"10.2.0.1": true, "fe80::1": true, "10.0.0.6": false, "::ffff:10.0.0.5": true,
	} {
		if got := a.admits(tcp(ip), tcp("10.9.9.9")); got != want {
			t.Errorf("%s: %v, want %v", ip, got, want)
		}
	}
	var none AllowList
	for remote, want := range map[string]bool{"127.0.0.1": true, "::1": true, "127.8.0.1": true, "10.9.9.9": true, "10.0.0.5": false} {
		// 10.9.9.9 is the address the connection arrived on: the same host.
		if got := none.admits(tcp(remote), tcp("10.9.9.9")); got != want {
			t.Errorf("empty list, %s: %v, want %v", remote, got, want)
		}
	}
	if !none.Empty() || a.Empty() {
		t.Error("Empty")
	}
	for _, bad := range []string{"localhost", "10.0.0.0/33", "10.0.x.*", "1.2.3.4;nope"} {
		if _, err := ParseAllowList(bad); !errors.Is(err, ErrAllowList) || !strings.Contains(err.Error(), strings.Split(bad, ";")[len(strings.Split(bad, ";"))-1]) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// syncLog collects log lines from several goroutines.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write takes the records of a slog handler.
func (l *syncLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// closed reports whether err means the peer closed the connection (a close
// with unread input arrives as a reset).
func closed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}
