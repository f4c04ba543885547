package tars

import (
	"bytes"
	"context"
	"net"
	"sync"
	"testing"
	"time"
)

// FuzzServerConn feeds arbitrary bytes to one server connection: the
// server never panics or hangs, and everything it writes back is a
// sequence of well-formed reply frames.
//
//	go test ./tars -run '^$' -fuzz '^FuzzServerConn$' -fuzztime 20s
func FuzzServerConn(f *testing.F) {
	f.Add(Frame(adminRequest(1, FuncNotify, &NotifyArgs{Command: "tars.viewstatus"})))
	f.Add(append(Frame(adminRequest(1, FuncShutdown, nil)), Frame(adminRequest(2, FuncGetPid, nil))...))
	f.Add(Frame(tupRequest(VersionTUPSimple, "x")))
	f.Add(Frame(tupRequest(VersionTUPComplex, "panic")))
	f.Add(Frame(&RequestPacket{IVersion: 1, CPacketType: PacketOneway, SFuncName: FuncPing}))
	f.Add(Frame(&RequestPacket{IVersion: 5, SFuncName: FuncNotify}))
	f.Add([]byte{0x80, 0, 0, 0, 1, 2, 3})
	f.Add(Frame(sampleRequest())[:20])
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	h := AdminFuncs{OnNotify: func(_ context.Context, cmd string) (string, error) {
		if cmd == "panic" {
			panic("boom")
		}
		return cmd, nil
	}}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewAdminServer(h, ServerOptions{MaxPacketSize: 1 << 16})
		defer s.Close()
		c := &scriptConn{in: bytes.NewReader(data)}
		newServerConn(s, c, time.Second).serve()
		for rest := c.written(); len(rest) > 0; {
			body, r, err := SplitFrame(rest, 0)
			if err != nil || body == nil {
				t.Fatalf("bad reply framing: %x (%v)", rest, err)
			}
			if _, err := DecodeRequestPacket(body); err != nil { // a ResponsePacket decodes as one too
				if _, err := DecodeResponsePacket(body); err != nil {
					t.Fatalf("undecodable reply %x: %v", body, err)
				}
			}
			rest = r
		}
	})
}

// scriptConn is a net.Conn that reads a fixed input (then io.EOF) and
// records what is written.
type scriptConn struct {
	in  *bytes.Reader
	mu  sync.Mutex
	out bytes.Buffer
}

func (c *scriptConn) Read(p []byte) (int, error) { return c.in.Read(p) }
func (c *scriptConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}
func (c *scriptConn) written() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Bytes()
}
func (c *scriptConn) Close() error                     { return nil }
func (c *scriptConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (c *scriptConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }
