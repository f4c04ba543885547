package auth_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/auth"
)

const (
	vectorSecret = "correct-horse-battery-staple"
	vectorBody   = `{"phone":"+4915112345678","template":"verify_code","params":{"code":"4711"}}`
	vectorNonce  = "n0nce-0123456789ab"
	vectorTS     = 1700000000
)

// hmacHex is the signature computed here, with crypto/hmac only, of a
// string to sign written out by hand.
func hmacHex(secret, stringToSign string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(stringToSign))
	return hex.EncodeToString(mac.Sum(nil))
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestSignatureVectors: the signatures of two requests, fixed here (they
// were computed with Python's hmac module) and recomputed with crypto/hmac
// from the canonical string written out by hand, agree with Sign.
func TestSignatureVectors(t *testing.T) {
	cases := []struct {
		req  auth.Request
		want string
	}{
		{auth.Request{Method: "POST", Target: "/api/sms/send", Body: []byte(vectorBody)},
			"80979eda2384b03ef92047ab5672ade631242d680d8154a3c35f301227671dc4"},
		{auth.Request{Method: "GET", Target: "/api/sms/ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
			"fe3d6417ad02ab1b277a5c23b4c327ad27b669083dcce5783e5e91795e305972"},
	}
	for _, c := range cases {
		byHand := "SMS-HMAC-SHA256\nshop\n1700000000\nn0nce-0123456789ab\n" + c.req.Method + "\n" + c.req.Target + "\n" + sha256Hex(string(c.req.Body))
		if got := hmacHex(vectorSecret, byHand); got != c.want {
			t.Fatalf("%s %s: crypto/hmac of the string written by hand: %s, want the fixed vector %s", c.req.Method, c.req.Target, got, c.want)
		}
		if got := hex.EncodeToString(auth.Sign([]byte(vectorSecret), "shop", vectorTS, vectorNonce, c.req)); got != c.want {
			t.Errorf("%s %s: Sign: %s, want %s", c.req.Method, c.req.Target, got, c.want)
		}
		if got := auth.StringToSign("shop", vectorTS, vectorNonce, c.req); got != byHand {
			t.Errorf("StringToSign:\n%q\nwant\n%q", got, byHand)
		}
	}
	h := auth.Authorization("shop", []byte(vectorSecret), time.Unix(vectorTS, 0), vectorNonce, cases[0].req)
	want := "SMS-HMAC-SHA256 Credential=shop, Timestamp=1700000000, Nonce=n0nce-0123456789ab, Signature=" + cases[0].want
	if h != want {
		t.Fatalf("Authorization:\n%s\nwant\n%s", h, want)
	}
}

func TestParseAuthorization(t *testing.T) {
	sig := strings.Repeat("ab", 32)
	good := "SMS-HMAC-SHA256 Credential=shop, Timestamp=1700000000, Nonce=" + vectorNonce + ", Signature=" + sig
	c, err := auth.ParseAuthorization(good)
	if err != nil || c.App != "shop" || c.Timestamp.Unix() != vectorTS || c.Nonce != vectorNonce || hex.EncodeToString(c.Signature) != sig {
		t.Fatalf("%+v, %v", c, err)
	}
	// Any order, no spaces.
	if _, err := auth.ParseAuthorization("SMS-HMAC-SHA256 Signature=" + sig + ",Nonce=" + vectorNonce + ",Credential=a,Timestamp=1"); err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		"":                   "missing Authorization header",
		"Basic dXNlcjpwYXNz": "want scheme SMS-HMAC-SHA256",
		"SMS-HMAC-SHA256":    "want Key=value pairs",
		strings.Replace(good, "Credential=shop", "Credential=sh op", 1):                    "Credential: want an application id",
		strings.Replace(good, "Credential=shop", "Credential="+strings.Repeat("a", 65), 1): "Credential: want an application id",
		strings.Replace(good, "Timestamp=1700000000", "Timestamp=-1", 1):                   "Timestamp: want decimal Unix seconds",
		strings.Replace(good, "Timestamp=1700000000", "Timestamp=1e9", 1):                  "Timestamp: want decimal Unix seconds",
		strings.Replace(good, "Nonce="+vectorNonce, "Nonce=short", 1):                      "Nonce: want 16 to 128",
		strings.Replace(good, "Nonce="+vectorNonce, "Nonce=ä"+vectorNonce, 1):              "Nonce: want 16 to 128",
		strings.Replace(good, "Signature="+sig, "Signature="+sig[:62], 1):                  "Signature: want 64 hex digits",
		strings.Replace(good, "Signature="+sig, "Signature="+sig[:62]+"zz", 1):             "Signature: want 64 hex digits",
		good + ", Nonce=" + vectorNonce:                                                    "Nonce given twice",
		good + ", Region=x":                                                                `unknown key "Region"`,
		strings.Replace(good, ", Nonce="+vectorNonce, "", 1):                               "no Nonce",
		good + strings.Repeat(" ", 1024):                                                   "longer than 1024 bytes",
	}
	for h, want := range bad {
		_, err := auth.ParseAuthorization(h)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.60q: %v, want an error containing %q", h, err, want)
		}
		if h != "" && !errors.Is(err, auth.ErrMalformed) {
			t.Errorf("%.60q: %v is not ErrMalformed", h, err)
		}
	}
}

// FuzzParseAuthorization: any header either parses into a credential that
// formats back to an equivalent header, or is refused with ErrMalformed or
// ErrNoAuthorization; it never panics. Seeds: testdata/fuzz and below.
func FuzzParseAuthorization(f *testing.F) {
	f.Add("SMS-HMAC-SHA256 Credential=shop, Timestamp=1700000000, Nonce=" + vectorNonce + ", Signature=" + strings.Repeat("0f", 32))
	f.Add("SMS-HMAC-SHA256 Credential=a,Timestamp=0,Nonce=aaaaaaaaaaaaaaaa,Signature=" + strings.Repeat("F", 64))
	f.Add("SMS-HMAC-SHA256 Credential==, Timestamp=,,")
	f.Add("Bearer x")
	f.Fuzz(func(t *testing.T, h string) {
		c, err := auth.ParseAuthorization(h)
		if err != nil {
			if !errors.Is(err, auth.ErrMalformed) && !errors.Is(err, auth.ErrNoAuthorization) {
				t.Fatalf("%q: error %v is neither ErrMalformed nor ErrNoAuthorization", h, err)
			}
			return
		}
		if c.App == "" || len(c.Nonce) < auth.MinNonceLen || len(c.Signature) != sha256.Size || c.Timestamp.Unix() < 0 {
			t.Fatalf("%q parsed into an invalid credential %+v", h, c)
		}
		again := "SMS-HMAC-SHA256 Credential=" + c.App + ", Timestamp=" + strconv.FormatInt(c.Timestamp.Unix(), 10) + ", Nonce=" + c.Nonce + ", Signature=" + hex.EncodeToString(c.Signature)
		c2, err := auth.ParseAuthorization(again)
		if err != nil || c2.App != c.App || !c2.Timestamp.Equal(c.Timestamp) || c2.Nonce != c.Nonce || !hmac.Equal(c2.Signature, c.Signature) {
			t.Fatalf("%q → %+v → %q → %+v, %v", h, c, again, c2, err)
		}
	})
}
