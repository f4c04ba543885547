package wire

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"
	"time"
)

// TestPauseAndResumeKeepThePartialFrame: a Receive stopped by its read
// deadline in the middle of a frame keeps the bytes it read; a Conn made
// with Resume from them (on a duplicate of the channel, as a new program
// of the agent does) returns that frame whole, then the next ones.
func TestPauseAndResumeKeepThePartialFrame(t *testing.T) {
	a, b := pair(t)
	body := []byte(`{"id":7,"cmd":"x","data":"y"}`)
	frame := make([]byte, headerSize, headerSize+len(body))
	binary.BigEndian.PutUint32(frame, uint32(len(body)+2))
	frame[4], frame[5] = byte(KindCommand), 0
	frame = append(frame, body...)
	half := len(frame) / 2
	if _, err := a.uc.Write(frame[:half]); err != nil {
		t.Fatal(err)
	}
	b.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := b.Receive(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Receive past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	buffered, fds := b.Pending()
	if string(buffered) != string(frame[:half]) || len(fds) != 0 {
		t.Fatalf("Pending = %q %v, want the %d bytes read", buffered, fds, half)
	}
	f, err := b.uc.File()
	if err != nil {
		t.Fatal(err)
	}
	resumed, err := Resume(f, buffered, fds)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	if _, err := a.uc.Write(frame[half:]); err != nil {
		t.Fatal(err)
	}
	if err := a.Send(KindHeartbeat, nil); err != nil {
		t.Fatal(err)
	}
	m, err := resumed.Receive()
	var got Command
	if err != nil || m.Kind != KindCommand || m.Decode(&got) != nil || got.Cmd != "x" || got.Data != "y" {
		t.Fatalf("resumed first frame: %v %v %+v", err, m.Kind, got)
	}
	if m, err := resumed.Receive(); err != nil || m.Kind != KindHeartbeat {
		t.Fatalf("resumed second frame: %v %v", err, m.Kind)
	}
}
