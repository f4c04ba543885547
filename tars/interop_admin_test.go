package tars

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// adminServer is a minimal AdminF server, enough for a real @tars/rpc
// client: notify answers "ok: <command>", shutdown and tars_ping answer
// nothing, anything else is ServerNoFuncErr.
type adminServer struct {
	ln       net.Listener
	wg       sync.WaitGroup
	mu       sync.Mutex
	commands []string
	shutdown bool
}

func startAdminServer(t *testing.T) *adminServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &adminServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *adminServer) serve(c net.Conn) {
	for {
		body, err := ReadPacket(c, 0)
		if err != nil {
			return // EOF, or a malformed frame: close this connection only
		}
		req, err := DecodeRequestPacket(body)
		if err != nil {
			return
		}
		ret, reply, desc := ServerSuccess, []byte(nil), ""
		var text string
		switch req.SFuncName {
		case FuncNotify:
			cmd, err := NotifyCommand(req)
			if err != nil {
				ret, desc = ServerDecodeErr, err.Error()
				break
			}
			s.mu.Lock()
			s.commands = append(s.commands, cmd)
			s.mu.Unlock()
			text = "ok: " + cmd
			reply = Marshal(&StringResult{Ret: text})
		case FuncShutdown:
			s.mu.Lock()
			s.shutdown = true
			s.mu.Unlock()
		case FuncPing:
		default:
			ret, desc = ServerNoFuncErr, "no function "+req.SFuncName
		}
		if req.CPacketType == PacketOneway {
			continue
		}
		var frame []byte
		if IsTUP(req.IVersion) {
			attrs := NewTUP(req.IVersion)
			if text != "" {
				attrs.PutString("", text)
			}
			frame = Frame(NewTUPResponse(req, ret, desc, attrs))
		} else {
			resp := NewResponse(req, ret, reply)
			resp.SResultDesc = desc
			frame = Frame(resp)
		}
		if _, err := c.Write(frame); err != nil {
			return
		}
	}
}

func TestInteropRPCClientCallsAdminF(t *testing.T) {
	s := startAdminServer(t)
	addr := s.ln.Addr().(*net.TCPAddr)
	ep := Endpoint{Protocol: "tcp", Host: "127.0.0.1", Port: addr.Port, Timeout: 3000 * 1e6}
	long := strings.Repeat("x", 300)
	out := nodeRun(t, nil, "admin-client.js", ep.String(), "tars.viewstatus", "agent.scale 4", long)
	var got []struct {
		Ret     *string `json:"ret"`
		Code    int     `json:"code"`
		Message string  `json:"message"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got) != 5 {
		t.Fatalf("%s", out)
	}
	for i, cmd := range []string{"tars.viewstatus", "agent.scale 4", long} {
		if got[i].Ret == nil || *got[i].Ret != "ok: "+cmd {
			t.Errorf("notify(%q): %s", cmd, out)
		}
	}
	if got[3].Code != int(ServerNoFuncErr) {
		t.Errorf("unknown function: %s", out)
	}
	if got[4].Code != 0 {
		t.Errorf("shutdown: %s", out)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.commands) != 3 || !s.shutdown {
		t.Fatalf("server saw %q, shutdown %v", s.commands, s.shutdown)
	}
}

// TestAdminServerBadInput: garbage, a 2 GiB length prefix and a truncated
// packet close that connection only; the server keeps serving others.
func TestAdminServerBadInput(t *testing.T) {
	s := startAdminServer(t)
	for _, bad := range [][]byte{
		[]byte("garbage bytes that are not a frame"),
		{0x80, 0, 0, 0, 1, 2, 3},
		Frame(sampleRequest())[:20],
		Frame(&RequestPacket{IVersion: 1, SFuncName: FuncNotify}), // notify without its argument
	} {
		c, err := net.Dial("tcp", s.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write(bad)
		if cw, ok := c.(*net.TCPConn); ok {
			cw.CloseWrite()
		}
		body, err := ReadPacket(c, 0)
		if err == nil {
			// Only the well-framed notify gets an answer: a decode error.
			resp, err := DecodeResponsePacket(body)
			if err != nil || resp.IRet != ServerDecodeErr {
				t.Fatalf("%+v %v", resp, err)
			}
			_, err = ReadPacket(c, 0)
			if !closed(err) {
				t.Fatalf("after reply: %v", err)
			}
		} else if !closed(err) {
			t.Fatalf("%x: %v", bad, err)
		}
		c.Close()
	}
	// Still serving: a good call works.
	c, err := net.Dial("tcp", s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := WriteFrame(c, &RequestPacket{IVersion: 1, IRequestID: 5, SFuncName: FuncNotify,
		SBuffer: Marshal(&NotifyArgs{Command: "x"})}); err != nil {
		t.Fatal(err)
	}
	body, err := ReadPacket(c, 0)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := DecodeResponsePacket(body)
	var res StringResult
	if err := Unmarshal(resp.SBuffer, &res); err != nil || res.Ret != "ok: x" || resp.IRequestID != 5 {
		t.Fatalf("%+v %+v %v", resp, res, err)
	}
}

// closed reports whether err means the peer closed the connection (a close
// with unread input arrives as a reset).
func closed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}
