package config

import (
	"errors"
	"fmt"
)

// Sentinels returned by Load after it has printed what was asked for; the
// caller exits 0.
var (
	// ErrHelp: the help text was printed (-h, --help, or no arguments at all).
	ErrHelp = errors.New("help requested")
	// ErrVersion: the version was printed (-V, --version).
	ErrVersion = errors.New("version requested")
)

// UsageError is bad input: an unknown option, a bad value, a missing or
// unusable entry, a malformed manifest, a Go entry that does not build. Its
// message is one line naming the option, value or file and what is expected
// (a failed build appends the compiler's first lines). The caller prints it
// and exits 2.
type UsageError struct {
	// Msg says what is wrong and what is expected.
	Msg string
	// Err is the underlying cause, if any; it is part of Error() and Unwrap.
	Err error
}

func (e *UsageError) Error() string {
	if e.Err == nil {
		return e.Msg
	}
	return e.Msg + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *UsageError) Unwrap() error { return e.Err }

// usagef builds a *UsageError from a format, without a cause.
func usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// usageWrap builds a *UsageError whose message is the format and whose cause
// is err.
func usageWrap(err error, format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...), Err: err}
}
