package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Scheme is the Authorization scheme of a signed request and the first line
// of the string it signs.
const Scheme = "SMS-HMAC-SHA256"

// HeaderAuthorization carries the signature.
const HeaderAuthorization = "Authorization"

// Limits of the Authorization header's parts.
const (
	MaxAppIDLen     = 64
	MinNonceLen     = 16
	MaxNonceLen     = 128
	maxHeaderLen    = 1024
	maxTimestampLen = 12 // Unix seconds until the year 33658
)

// Credential is a parsed Authorization header:
//
//	Authorization: SMS-HMAC-SHA256 Credential=APP, Timestamp=UNIX, Nonce=NONCE, Signature=HEX
type Credential struct {
	App       string    // the application id
	Timestamp time.Time // when the caller signed, whole seconds
	Nonce     string    // unique per request and application
	Signature []byte    // HMAC-SHA256, 32 bytes
}

// Request is what a signature covers: the method, the request target (the
// escaped path, and "?" and the raw query when there is one) and the body.
type Request struct {
	Method string
	Target string
	Body   []byte
}

// RequestOf returns the signed parts of r, with body its full body.
func RequestOf(r *http.Request, body []byte) Request {
	target := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	return Request{Method: r.Method, Target: target, Body: body}
}

// StringToSign is the canonical text that is signed, lines joined by "\n":
//
//	SMS-HMAC-SHA256
//	APP
//	TIMESTAMP        (decimal Unix seconds)
//	NONCE
//	METHOD           (as sent, "POST")
//	TARGET           ("/api/sms/send")
//	BODYHASH         (lowercase hex SHA-256 of the body; of "" without one)
func StringToSign(app string, ts int64, nonce string, req Request) string {
	sum := sha256.Sum256(req.Body)
	return strings.Join([]string{Scheme, app, strconv.FormatInt(ts, 10), nonce, req.Method, req.Target, hex.EncodeToString(sum[:])}, "\n")
}

// Sign returns HMAC-SHA256(secret, StringToSign(...)).
func Sign(secret []byte, app string, ts int64, nonce string, req Request) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(StringToSign(app, ts, nonce, req)))
	return mac.Sum(nil)
}

// NewNonce returns 22 characters of crypto/rand (128 bits) in base32.
func NewNonce() string { return strings.ToLower(rand.Text()[:22]) }

// Authorization returns the Authorization header value of req signed by
// app with secret at now, with nonce.
func Authorization(app string, secret []byte, now time.Time, nonce string, req Request) string {
	ts := now.Unix()
	sig := Sign(secret, app, ts, nonce, req)
	return fmt.Sprintf("%s Credential=%s, Timestamp=%d, Nonce=%s, Signature=%s", Scheme, app, ts, nonce, hex.EncodeToString(sig))
}

// SignHTTP sets r's Authorization header: a fresh nonce, the current time.
// body must be r's body (nil for none); r.Body is not read.
func SignHTTP(r *http.Request, app string, secret []byte, body []byte) {
	r.Header.Set(HeaderAuthorization, Authorization(app, secret, time.Now(), NewNonce(), RequestOf(r, body)))
}

// Errors of ParseAuthorization; each is wrapped with details.
var (
	ErrNoAuthorization = errors.New("missing Authorization header")
	ErrMalformed       = errors.New("malformed Authorization header")
)

// ParseAuthorization parses an Authorization header value. The scheme is
// SMS-HMAC-SHA256; then Credential, Timestamp, Nonce and Signature, each
// exactly once, in any order, separated by commas and optional spaces. An
// application id is 1 to 64 letters, digits, '_', '-' or '.'; a timestamp
// decimal Unix seconds; a nonce 16 to 128 letters, digits, '_' or '-'; a
// signature 64 hex digits.
func ParseAuthorization(v string) (Credential, error) {
	if v == "" {
		return Credential{}, ErrNoAuthorization
	}
	if len(v) > maxHeaderLen {
		return Credential{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxHeaderLen)
	}
	scheme, params, _ := strings.Cut(v, " ")
	if scheme != Scheme {
		return Credential{}, fmt.Errorf("%w: want scheme %s", ErrMalformed, Scheme)
	}
	var c Credential
	seen := map[string]bool{}
	for _, part := range strings.Split(params, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Credential{}, fmt.Errorf("%w: want Key=value pairs separated by commas", ErrMalformed)
		}
		if seen[k] {
			return Credential{}, fmt.Errorf("%w: %s given twice", ErrMalformed, k)
		}
		seen[k] = true
		if err := c.set(k, val); err != nil {
			return Credential{}, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
	}
	for _, k := range []string{"Credential", "Timestamp", "Nonce", "Signature"} {
		if !seen[k] {
			return Credential{}, fmt.Errorf("%w: no %s", ErrMalformed, k)
		}
	}
	return c, nil
}

func (c *Credential) set(k, v string) error {
	switch k {
	case "Credential":
		if !validAppID(v) {
			return fmt.Errorf("Credential: want an application id of 1 to %d letters, digits, '_', '-' or '.'", MaxAppIDLen)
		}
		c.App = v
	case "Timestamp":
		if len(v) == 0 || len(v) > maxTimestampLen || strings.Trim(v, "0123456789") != "" {
			return errors.New("Timestamp: want decimal Unix seconds")
		}
		ts, _ := strconv.ParseInt(v, 10, 64)
		c.Timestamp = time.Unix(ts, 0)
	case "Nonce":
		if len(v) < MinNonceLen || len(v) > MaxNonceLen || !allChars(v, isNonceChar) {
			return fmt.Errorf("Nonce: want %d to %d letters, digits, '_' or '-'", MinNonceLen, MaxNonceLen)
		}
		c.Nonce = v
	case "Signature":
		sig, err := hex.DecodeString(v)
		if err != nil || len(sig) != sha256.Size {
			return errors.New("Signature: want 64 hex digits")
		}
		c.Signature = sig
	default:
		return fmt.Errorf("unknown key %q (want Credential, Timestamp, Nonce, Signature)", k)
	}
	return nil
}

// validAppID reports whether id can name an application.
func validAppID(id string) bool {
	return len(id) > 0 && len(id) <= MaxAppIDLen && allChars(id, func(c byte) bool { return isNonceChar(c) || c == '.' })
}

func isNonceChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func allChars(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}
