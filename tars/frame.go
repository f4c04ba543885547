package tars

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxPacketSize is the frame size limit used when a caller passes
// max ≤ 0: 10 MiB, TarsGo's default maxPackageLength.
const DefaultMaxPacketSize = 10 << 20

// frameHeaderSize is the 4-byte big-endian length prefix, which counts itself.
const frameHeaderSize = 4

// eagerAlloc is the frame size up to which ReadPacket allocates the whole
// body at once; larger bodies grow as bytes actually arrive, so a lying
// length prefix cannot make us allocate up to max for nothing.
const eagerAlloc = 64 << 10

// AppendFrame appends the framed encoding of s (length prefix + fields) to
// dst and returns the extended slice.
func AppendFrame(dst []byte, s Struct) []byte {
	start := len(dst)
	w := Buffer{b: append(dst, 0, 0, 0, 0)}
	s.Encode(&w)
	binary.BigEndian.PutUint32(w.b[start:], uint32(len(w.b)-start))
	return w.b
}

// Frame returns the framed encoding of s.
func Frame(s Struct) []byte { return AppendFrame(nil, s) }

// WriteFrame writes the framed encoding of s to w in one Write call.
func WriteFrame(w io.Writer, s Struct) error {
	_, err := w.Write(Frame(s))
	return err
}

func checkFrameLen(n uint32, max int) error {
	if max <= 0 {
		max = DefaultMaxPacketSize
	}
	if n < frameHeaderSize {
		return fmt.Errorf("tars: frame length %d < %d: %w", n, frameHeaderSize, ErrMalformed)
	}
	if uint64(n) > uint64(max) {
		return fmt.Errorf("tars: frame length %d exceeds the limit of %d bytes: %w", n, max, ErrTooLarge)
	}
	return nil
}

// ReadPacket reads one length-prefixed packet from r and returns its body
// (the bytes after the prefix). max bounds the whole frame including the
// prefix (≤ 0 means DefaultMaxPacketSize).
//
// A clean end of stream before the first byte returns io.EOF itself; a stream
// that ends inside a frame returns an error wrapping ErrTruncated and
// io.ErrUnexpectedEOF; a length < 4 is ErrMalformed and a length > max is
// ErrTooLarge (nothing is read past the prefix then).
func ReadPacket(r io.Reader, max int) ([]byte, error) {
	var hdr [frameHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, truncated("frame header", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if err := checkFrameLen(n, max); err != nil {
		return nil, err
	}
	size := int64(n) - frameHeaderSize
	if size <= eagerAlloc {
		body := make([]byte, size)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, truncated("frame body", err)
		}
		return body, nil
	}
	var buf bytes.Buffer
	buf.Grow(eagerAlloc)
	if _, err := io.CopyN(&buf, r, size); err != nil {
		return nil, truncated("frame body", err)
	}
	return buf.Bytes(), nil
}

func truncated(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("tars: %s: %w (%w)", what, ErrTruncated, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("tars: %s: %w", what, err)
}

// SplitFrame extracts the first complete frame from a stream buffer. It
// returns the frame's body and the bytes after it. When buf does not yet hold
// a whole frame it returns (nil, buf, nil): read more and call again. An
// invalid length prefix is an error (the stream cannot be resynchronised).
func SplitFrame(buf []byte, max int) (body, rest []byte, err error) {
	if len(buf) < frameHeaderSize {
		return nil, buf, nil
	}
	n := binary.BigEndian.Uint32(buf)
	if err := checkFrameLen(n, max); err != nil {
		return nil, buf, err
	}
	if uint64(len(buf)) < uint64(n) {
		return nil, buf, nil
	}
	return buf[frameHeaderSize:n], buf[n:], nil
}
