package tars

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error of the codec, framing, endpoint and config
// parts of this package wraps exactly one of them (with %w), so callers
// branch with errors.Is and print the error for the details (tag, type,
// offset, line number). The client's errors are described on Client.Invoke.
var (
	// ErrTruncated: the input ended in the middle of a value or a frame.
	ErrTruncated = errors.New("truncated input")
	// ErrTooLarge: a length or count is larger than the remaining input or a
	// configured limit (frame size, nesting depth). Nothing was allocated for it.
	ErrTooLarge = errors.New("too large")
	// ErrTypeMismatch: a field is present but its wire type cannot be read as
	// the declared type (e.g. a string where an int32 is expected, or an Int64
	// for an int32 field).
	ErrTypeMismatch = errors.New("type mismatch")
	// ErrRequired: a required field is absent.
	ErrRequired = errors.New("required field missing")
	// ErrMalformed: the bytes violate the encoding (unknown type code,
	// negative size, bad SimpleList head, frame length < 4, value out of range).
	ErrMalformed = errors.New("malformed input")
	// ErrTUP: a TUP (iVersion 2/3) attribute is missing or cannot be decoded.
	ErrTUP = errors.New("bad TUP attributes")
	// ErrEndpoint: an endpoint or proxy string cannot be parsed.
	ErrEndpoint = errors.New("bad endpoint")
	// ErrConfigSyntax: a TARS config file cannot be parsed; the error is a
	// *ConfigError carrying the file name and line number.
	ErrConfigSyntax = errors.New("config syntax error")
	// ErrAllowList: an adapter allow list has an entry that is not an IP
	// address, a CIDR prefix or a wildcard pattern.
	ErrAllowList = errors.New("bad allow list")

	// ErrUnavailable: a Client found no endpoint it could connect to (all
	// refused, all waiting out their reconnect backoff, or the locator knows
	// none). The error also wraps the last connection error, if any.
	ErrUnavailable = errors.New("no endpoint available")
	// ErrClosed: the Client or Server was closed.
	ErrClosed = errors.New("closed")
	// ErrConnLost: the connection broke after the request was sent; the
	// call may or may not have run on the server.
	ErrConnLost = errors.New("connection lost")
)

// RemoteError is a reply whose result code is not ServerSuccess: the
// server ran (or refused) the call and said why.
type RemoteError struct {
	Func string // the function called
	Code int32  // ResponsePacket.IRet, one of the Server* codes (or a business code)
	Desc string // ResponsePacket.SResultDesc
}

func (e *RemoteError) Error() string {
	if e.Desc == "" {
		return fmt.Sprintf("tars: %s: the server answered error %d", e.Func, e.Code)
	}
	return fmt.Sprintf("tars: %s: the server answered error %d: %s", e.Func, e.Code, e.Desc)
}
