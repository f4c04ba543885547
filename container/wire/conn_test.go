package wire

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func pair(t *testing.T) (*Conn, *Conn) {
	t.Helper()
	a, f, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	b, err := FileConn(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestSendReceiveRoundTrip(t *testing.T) {
	a, b := pair(t)
	want := Command{ID: 7, Cmd: "tars.viewstatus", Data: "x y"}
	if err := a.Send(KindCommand, want); err != nil {
		t.Fatal(err)
	}
	if err := a.Send(KindHeartbeat, nil); err != nil {
		t.Fatal(err)
	}
	m, err := b.Receive()
	if err != nil {
		t.Fatal(err)
	}
	var got Command
	if m.Kind != KindCommand || m.Decode(&got) != nil || got != want {
		t.Fatalf("got %v %+v, want command %+v", m.Kind, got, want)
	}
	m, err = b.Receive()
	if err != nil || m.Kind != KindHeartbeat || len(m.Body) != 0 {
		t.Fatalf("heartbeat: %v %v %q", err, m.Kind, m.Body)
	}
}

func TestSendsDescriptor(t *testing.T) {
	a, b := pair(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Frames before and after the one with the descriptor must not claim it.
	a.Send(KindHeartbeat, nil)
	if err := a.Send(KindListenResult, ListenResult{ID: 1, Address: ln.Addr().String()}, f); err != nil {
		t.Fatal(err)
	}
	a.Send(KindReady, nil)
	var got []Message
	for len(got) < 3 {
		m, err := b.Receive()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	if len(got[0].Files) != 0 || len(got[2].Files) != 0 || len(got[1].Files) != 1 {
		t.Fatalf("descriptors on the wrong frames: %d %d %d", len(got[0].Files), len(got[1].Files), len(got[2].Files))
	}
	rf := got[1].Files[0]
	defer rf.Close()
	rl, err := net.FileListener(rf)
	if err != nil {
		t.Fatal(err)
	}
	defer rl.Close()
	if rl.Addr().String() != ln.Addr().String() {
		t.Fatalf("received listener on %s, sent %s", rl.Addr(), ln.Addr())
	}
	flags, err := unix.FcntlInt(rf.Fd(), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Fatalf("received descriptor is not close-on-exec: flags %#x, %v", flags, err)
	}
}

func TestLargeFrame(t *testing.T) {
	a, b := pair(t)
	big := Reply{ID: 1, Text: strings.Repeat("x", 1<<20)}
	errc := make(chan error, 1)
	go func() { errc <- a.Send(KindReply, big) }()
	m, err := b.Receive()
	if err != nil {
		t.Fatal(err)
	}
	var got Reply
	if err := m.Decode(&got); err != nil || got.Text != big.Text {
		t.Fatalf("large frame mangled: %v (len %d)", err, len(got.Text))
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err := a.Send(KindReply, Reply{Text: strings.Repeat("x", MaxFrameSize)}); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("oversized send: %v", err)
	}
}

func TestEOF(t *testing.T) {
	a, b := pair(t)
	a.Send(KindReady, nil)
	a.Close()
	if m, err := b.Receive(); err != nil || m.Kind != KindReady {
		t.Fatalf("frame before close: %v %v", m.Kind, err)
	}
	if _, err := b.Receive(); err != io.EOF {
		t.Fatalf("after close: %v, want EOF", err)
	}
}

// TestCloseRead: after CloseRead the frames already sent are still
// received, then EOF, though the peer's end stays open; its next send
// fails.
func TestCloseRead(t *testing.T) {
	a, b := pair(t)
	for range 3 {
		if err := a.Send(KindReady, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.CloseRead(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if m, err := b.Receive(); err != nil || m.Kind != KindReady {
			t.Fatalf("frame %d sent before CloseRead: %v %v", i, m.Kind, err)
		}
	}
	if _, err := b.Receive(); err != io.EOF {
		t.Fatalf("after the frames sent before CloseRead: %v, want EOF", err)
	}
	if err := a.Send(KindReady, nil); err == nil {
		t.Fatal("a send after the peer's CloseRead succeeded")
	}
}

// rawPair gives a Conn reading whatever bytes the test writes.
func rawPair(t *testing.T) (*os.File, *Conn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	w := os.NewFile(uintptr(fds[0]), "raw")
	r := os.NewFile(uintptr(fds[1]), "conn")
	c, err := FileConn(r)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(); c.Close() })
	return w, c
}

func frame(length uint32, kind, nfds byte, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, length)
	return append(append(b, kind, nfds), body...)
}

func TestMalformedFrames(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"too large", frame(MaxFrameSize+1, 1, 0, nil), ErrFrameTooLarge},
		{"short length", frame(1, 1, 0, nil), ErrMalformed},
		{"claims descriptors", frame(2, 5, 1, nil), ErrMalformed},
		{"truncated", frame(10, 1, 0, []byte("abc")), io.ErrUnexpectedEOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, c := rawPair(t)
			w.Write(tc.in)
			w.Close()
			if _, err := c.Receive(); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	if KindListen.String() != "listen" || Kind(200).String() != "kind(200)" {
		t.Fatal(KindListen.String(), Kind(200).String())
	}
}

func FuzzReceive(f *testing.F) {
	f.Add(frame(2, byte(KindReady), 0, nil))
	f.Add(frame(uint32(2+len(`{"id":1,"cmd":"x"}`)), byte(KindCommand), 0, []byte(`{"id":1,"cmd":"x"}`)))
	f.Add(frame(2, 5, 1, nil))
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 1<<16 {
			return
		}
		w, c := rawPair(t)
		go func() { w.Write(in); w.Close() }()
		for {
			m, err := c.Receive()
			if err != nil {
				return
			}
			var v Command
			_ = m.Decode(&v) // must not panic, whatever the body
			for _, f := range m.Files {
				f.Close()
			}
		}
	})
}

// nonBlocking reports the O_NONBLOCK flag of the open file description
// behind a listener, read through Control so that reading changes nothing.
func nonBlocking(t *testing.T, ln net.Listener) bool {
	t.Helper()
	rc, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var flags int
	rc.Control(func(fd uintptr) { flags, err = unix.FcntlInt(fd, unix.F_GETFL, 0) })
	if err != nil {
		t.Fatal(err)
	}
	return flags&unix.O_NONBLOCK != 0
}

// Passing a socket must never switch it to blocking mode: the flag belongs
// to the open file description every holder shares, and a worker whose
// accept blocks in the kernel can no longer be stopped by closing it.
func TestSendKeepsSharedSocketNonBlocking(t *testing.T) {
	a, b := pair(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The three ways a holder may keep it: a file from the listener (whose
	// Fd would switch it to blocking), the listener, a bare descriptor.
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, sent := range []syscall.Conn{f, ln.(*net.TCPListener), FD(int(mustRawFD(t, f)))} {
		if err := a.Send(KindListenResult, ListenResult{ID: 1}, sent); err != nil {
			t.Fatal(err)
		}
		if !nonBlocking(t, ln) {
			t.Fatalf("sending %T switched the shared socket to blocking mode", sent)
		}
		m, err := b.Receive()
		if err != nil || len(m.Files) != 1 {
			t.Fatalf("received %d files, %v", len(m.Files), err)
		}
		rl, err := net.FileListener(m.Files[0])
		m.Files[0].Close()
		if err != nil {
			t.Fatal(err)
		}
		if !nonBlocking(t, ln) || !nonBlocking(t, rl) {
			t.Fatalf("receiving %T left the shared socket in blocking mode", sent)
		}
		rl.Close()
	}
}

// mustRawFD returns f's descriptor without changing its mode.
func mustRawFD(t *testing.T, f *os.File) uintptr {
	t.Helper()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd uintptr
	rc.Control(func(d uintptr) { fd = d })
	return fd
}
