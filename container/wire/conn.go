package wire

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Limits of a frame.
const (
	// MaxFrameSize bounds the length field of a frame. A peer announcing
	// more is broken or hostile: the connection is abandoned.
	MaxFrameSize = 4 << 20
	// MaxFrameFDs bounds the descriptors one frame may carry.
	MaxFrameFDs = 4
	headerSize  = 6
	readChunk   = 64 << 10
)

// Errors returned by Conn.Receive.
var (
	// ErrFrameTooLarge means the peer announced a frame over MaxFrameSize.
	ErrFrameTooLarge = errors.New("wire: frame too large")
	// ErrMalformed means a frame is not well formed (length or fd count).
	ErrMalformed = errors.New("wire: malformed frame")
)

// Message is one received frame.
type Message struct {
	Kind Kind
	// Body is the frame's JSON body, possibly empty.
	Body []byte
	// Files are the descriptors that came with the frame. The receiver owns
	// them and must close them.
	Files []*os.File
}

// Decode unmarshals the body into v.
func (m Message) Decode(v any) error {
	if len(m.Body) == 0 {
		return fmt.Errorf("wire: %s frame has no body", m.Kind)
	}
	if err := json.Unmarshal(m.Body, v); err != nil {
		return fmt.Errorf("wire: %s body: %w", m.Kind, err)
	}
	return nil
}

// Conn is one end of a channel. Send may be called from any goroutine;
// Receive from one goroutine at a time.
type Conn struct {
	uc  *net.UnixConn
	wmu sync.Mutex

	rbuf []byte // received bytes not yet returned as frames
	rfds []int  // received descriptors not yet claimed by a frame
	oob  []byte
}

// NewConn wraps one end of a Unix stream socket.
func NewConn(uc *net.UnixConn) *Conn {
	return &Conn{uc: uc, oob: make([]byte, unix.CmsgSpace(MaxFrameFDs*4))}
}

// FileConn makes a Conn of a descriptor, such as the one a worker inherits.
// The file is duplicated: the caller still owns f.
func FileConn(f *os.File) (*Conn, error) {
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("wire: channel %s: %w", f.Name(), err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("wire: channel %s is not a unix socket", f.Name())
	}
	return NewConn(uc), nil
}

// Pair returns both ends of a new channel: the agent's as a Conn and the
// worker's as a file to pass to the child (close it after the start).
func Pair() (*Conn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("wire: socketpair: %w", err)
	}
	mine := os.NewFile(uintptr(fds[0]), "agent-channel")
	theirs := os.NewFile(uintptr(fds[1]), "worker-channel")
	c, err := FileConn(mine)
	mine.Close()
	if err != nil {
		theirs.Close()
		return nil, nil, err
	}
	return c, theirs, nil
}

// Send writes one frame with body v (nil for an empty body) and the
// descriptors of files: *os.File, a net listener or connection, or an FD.
// Send borrows each descriptor through SyscallConn().Control and never
// changes its mode. (*os.File).Fd would: it switches a socket from the
// runtime's poller to blocking mode, and O_NONBLOCK belongs to the open
// file description, which every process holding a passed socket shares, so
// another worker's accept on it would then block in the kernel where no
// Close can interrupt it.
func (c *Conn) Send(k Kind, v any, files ...syscall.Conn) error {
	if len(files) > MaxFrameFDs {
		return fmt.Errorf("wire: %d descriptors in one frame: %w", len(files), ErrMalformed)
	}
	var body []byte
	if v != nil {
		var err error
		if body, err = json.Marshal(v); err != nil {
			return fmt.Errorf("wire: encode %s: %w", k, err)
		}
	}
	if len(body)+2 > MaxFrameSize {
		return fmt.Errorf("wire: %s body of %d bytes: %w", k, len(body), ErrFrameTooLarge)
	}
	frame := make([]byte, headerSize, headerSize+len(body))
	binary.BigEndian.PutUint32(frame, uint32(len(body)+2))
	frame[4] = byte(k)
	frame[5] = byte(len(files))
	frame = append(frame, body...)
	if err := withFDs(files, make([]int, 0, len(files)), func(fds []int) error {
		return c.write(frame, fds)
	}); err != nil {
		return fmt.Errorf("wire: send %s: %w", k, err)
	}
	return nil
}

// withFDs calls f with the descriptors of files, each held by its owner
// (Control keeps it from being closed) until f returns.
func withFDs(files []syscall.Conn, fds []int, f func([]int) error) error {
	if len(files) == 0 {
		return f(fds)
	}
	rc, err := files[0].SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		ferr = withFDs(files[1:], append(fds, int(fd)), f)
	}); err != nil {
		return err
	}
	return ferr
}

// write writes one frame, its descriptors with the first byte; the rest
// may need further writes on a full socket buffer.
func (c *Conn) write(frame []byte, fds []int) error {
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	n, _, err := c.uc.WriteMsgUnix(frame, oob, nil)
	for err == nil && n < len(frame) {
		var m int
		m, err = c.uc.Write(frame[n:])
		n += m
	}
	return err
}

// Receive returns the next frame. It returns io.EOF when the peer closed the
// channel between frames and io.ErrUnexpectedEOF inside one.
func (c *Conn) Receive() (Message, error) {
	for {
		if m, ok, err := c.parse(); err != nil || ok {
			return m, err
		}
		if err := c.fill(); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return Message{}, err // paused: what is buffered stays
			}
			if errors.Is(err, io.EOF) && len(c.rbuf) > 0 {
				err = io.ErrUnexpectedEOF
			}
			c.dropFDs()
			return Message{}, err
		}
	}
}

// parse takes one complete frame off the buffer, if there is one.
func (c *Conn) parse() (Message, bool, error) {
	if len(c.rbuf) < headerSize {
		return Message{}, false, nil
	}
	n := binary.BigEndian.Uint32(c.rbuf)
	if n > MaxFrameSize {
		return Message{}, false, fmt.Errorf("wire: frame of %d bytes: %w", n, ErrFrameTooLarge)
	}
	if n < 2 {
		return Message{}, false, fmt.Errorf("wire: frame length %d: %w", n, ErrMalformed)
	}
	total := 4 + int(n)
	if len(c.rbuf) < total {
		return Message{}, false, nil
	}
	m := Message{Kind: Kind(c.rbuf[4])}
	// The descriptors arrive with the frame's first byte, so a frame
	// claiming more than have arrived is lying.
	nfds := int(c.rbuf[5])
	if nfds > MaxFrameFDs || nfds > len(c.rfds) {
		return Message{}, false, fmt.Errorf("wire: %s frame claims %d descriptors, %d received: %w", m.Kind, nfds, len(c.rfds), ErrMalformed)
	}
	if total > headerSize {
		m.Body = append([]byte(nil), c.rbuf[headerSize:total]...)
	}
	for _, fd := range c.rfds[:nfds] {
		m.Files = append(m.Files, os.NewFile(uintptr(fd), "received"))
	}
	c.rfds = c.rfds[nfds:]
	c.rbuf = c.rbuf[:copy(c.rbuf, c.rbuf[total:])]
	return m, true, nil
}

// fill reads more bytes, and any descriptors that came with them.
func (c *Conn) fill() error {
	if cap(c.rbuf)-len(c.rbuf) < readChunk {
		grown := make([]byte, len(c.rbuf), 2*cap(c.rbuf)+readChunk)
		copy(grown, c.rbuf)
		c.rbuf = grown
	}
	n, oobn, flags, _, err := c.uc.ReadMsgUnix(c.rbuf[len(c.rbuf):cap(c.rbuf)], c.oob)
	if n < 0 { // a failed read reports -1
		n = 0
	}
	c.rbuf = c.rbuf[:len(c.rbuf)+n]
	if oobn > 0 {
		if perr := c.takeRights(c.oob[:oobn]); perr != nil {
			return perr
		}
	}
	if flags&unix.MSG_CTRUNC != 0 {
		return fmt.Errorf("wire: descriptors truncated: %w", ErrMalformed)
	}
	if errors.Is(err, io.EOF) || (err == nil && n == 0 && oobn == 0) {
		return io.EOF
	}
	return err
}

func (c *Conn) takeRights(oob []byte) error {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return fmt.Errorf("wire: control message: %w", err)
	}
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue // not SCM_RIGHTS: nothing to take
		}
		c.rfds = append(c.rfds, fds...)
	}
	if len(c.rfds) > 4*MaxFrameFDs {
		return fmt.Errorf("wire: %d unclaimed descriptors: %w", len(c.rfds), ErrMalformed)
	}
	return nil
}

// dropFDs closes descriptors that no frame claimed.
func (c *Conn) dropFDs() {
	for _, fd := range c.rfds {
		unix.Close(fd)
	}
	c.rfds = nil
}

// Close closes the channel. A Receive blocked in another goroutine returns
// an error, and closes the descriptors no frame claimed.
func (c *Conn) Close() error {
	return c.uc.Close()
}

// CloseRead stops the peer's sending: what it sent before is still read,
// then Receive reports the end (io.EOF), even when another process still
// holds the peer's end (a worker's child that inherited it); the peer's
// next send fails.
func (c *Conn) CloseRead() error { return c.uc.CloseRead() }

// SetReadDeadline bounds a Receive in progress or to come: past it,
// Receive returns an error wrapping os.ErrDeadlineExceeded and keeps what
// it buffered (bytes and descriptors), so that the same Conn, or one made
// by Resume from Detach's leftovers, goes on at the same byte. A zero t
// removes the bound. The agent uses it to stop reading a worker's channel
// before it hands the channel to its upgraded program.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.uc.SetReadDeadline(t) }

// Pending returns what the Conn received and did not yet return as frames:
// the bytes of a partial frame and the descriptors that came with them.
// Call it only while no Receive runs.
func (c *Conn) Pending() (buffered []byte, fds []int) {
	return append([]byte(nil), c.rbuf...), append([]int(nil), c.rfds...)
}

// SyscallConn gives access to the channel's descriptor.
func (c *Conn) SyscallConn() (syscall.RawConn, error) { return c.uc.SyscallConn() }

// Resume makes a Conn of f, a channel another Conn read up to some byte,
// with buffered and fds, what that Conn had received past its last frame
// (Pending): the next Receive starts with them. f is duplicated, as for
// FileConn; the descriptors in fds now belong to the Conn.
func Resume(f *os.File, buffered []byte, fds []int) (*Conn, error) {
	c, err := FileConn(f)
	if err != nil {
		return nil, err
	}
	c.rbuf = append(make([]byte, 0, readChunk+len(buffered)), buffered...)
	c.rfds = append(c.rfds, fds...)
	return c, nil
}
