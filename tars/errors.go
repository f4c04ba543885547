package tars

import "errors"

// Sentinel errors. Every error returned by this package wraps exactly one of
// them (with %w), so callers branch with errors.Is and print the error for the
// details (tag, type, offset, line number).
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
)
