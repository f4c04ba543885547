package provider

import (
	"context"
	"errors"
	"fmt"
	"net/url"
)

// Class is what a failed send means for the message and for the provider.
type Class int

// The classes of send errors.
const (
	// Temporary: the provider is failing (5xx, timeout, network error, its
	// own system error, account-wide throttling). Try the next provider now,
	// count a failure against this one, retry the message later.
	Temporary Class = iota
	// Account: this provider account cannot send (bad credentials, no
	// balance, sign or template not approved). Like Temporary for the
	// message, and a failure of this provider, which needs an operator.
	Account
	// Throttled: the provider refuses this recipient for now (per-number
	// flow control). The provider is healthy; retry the message later, but
	// not through another provider at once, which would defeat the limit.
	Throttled
	// Permanent: the message itself is bad (illegal number, blacklisted,
	// template parameters refused). Never retried.
	Permanent
)

func (c Class) String() string {
	switch c {
	case Temporary:
		return "temporary"
	case Account:
		return "account"
	case Throttled:
		return "throttled"
	case Permanent:
		return "permanent"
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// Error is a failed send. It never holds credentials: Code and Message come
// from the provider's reply or name the local failure.
type Error struct {
	Provider   string // configured provider name, "" when no provider was tried
	Code       string // the provider's error code, such as "isv.MOBILE_NUMBER_ILLEGAL", or a local one ("Timeout", "NetworkError")
	Message    string // the provider's message
	HTTPStatus int    // the HTTP status of the reply, 0 when there was none
	RequestID  string // the provider's request id, for support tickets
	Class      Class
	Err        error // the underlying error, if any (context, network)
}

func (e *Error) Error() string {
	s := "provider"
	if e.Provider != "" {
		s += " " + e.Provider
	}
	s += ": " + e.Code
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s + " [" + e.Class.String() + "]"
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether the message may be sent again later.
func (e *Error) Retryable() bool { return e.Class != Permanent }

// failsProvider reports whether the error counts against the provider's
// health (its circuit breaker) and lets the next provider be tried.
func (e *Error) failsProvider() bool { return e.Class == Temporary || e.Class == Account }

// CodeTimeout is the Code of a call that got no reply before its attempt's
// deadline.
const CodeTimeout = "Timeout"

// TimedOut reports whether the call got no reply before its attempt's
// deadline (a provider's own timeout code, answered, is not one).
func (e *Error) TimedOut() bool { return e.Code == CodeTimeout }

// IsRetryable reports whether err allows sending the message again later:
// true for every error except a Permanent *Error in its chain. Errors that
// are not *Error (a cancelled context, say) are retryable.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Retryable()
	}
	return true
}

// ErrNoProvider is wrapped by the error Router.Send returns when every
// provider's circuit breaker is open: retry later.
var ErrNoProvider = errors.New("no provider available: every circuit breaker is open")

// transportError classifies an error that left no reply: a done context
// (Timeout) or a network failure. Both are Temporary.
func transportError(ctx context.Context, provider string, err error) *Error {
	if ctx.Err() != nil {
		return &Error{Provider: provider, Code: CodeTimeout, Message: "no reply before the attempt's deadline", Class: Temporary, Err: ctx.Err()}
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) { // its URL carries the signed query: keep it out of logs
		msg = ue.Op + ": " + ue.Err.Error()
		err = ue.Err
	}
	return &Error{Provider: provider, Code: "NetworkError", Message: msg, Class: Temporary, Err: err}
}
