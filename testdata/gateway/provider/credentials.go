package provider

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"syscall"
)

// Secret is a credential value. Every way of printing it (fmt verbs, JSON,
// slog) shows "[redacted]"; Reveal is the only way to the value, for the
// signer. The value sits behind a pointer so that even fmt printing a
// struct that holds a Secret in an unexported field (where fmt cannot call
// its methods) shows an address, not the value.
type Secret struct{ v *string }

// NewSecret wraps v; an empty v is the zero Secret.
func NewSecret(v string) Secret {
	if v == "" {
		return Secret{}
	}
	return Secret{&v}
}

// Reveal returns the secret value. Call it only to sign a request.
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == nil }

const redacted = "[redacted]"

func (Secret) String() string               { return redacted }
func (Secret) GoString() string             { return redacted }
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (s Secret) Format(f fmt.State, _ rune) { f.Write([]byte(redacted)) }

// Equal reports in constant time whether other is the secret value; the
// zero Secret equals nothing.
func (s Secret) Equal(other string) bool { return s.v != nil && constantTimeEqual(*s.v, other) }

// Credentials are one provider account's keys: Aliyun AccessKeyId and
// AccessKeySecret, or Tencent SecretId and SecretKey.
type Credentials struct {
	ID     string // not secret: it names the account in every signed request
	Secret Secret
}

// CredentialSource says where a provider's credentials come from: a file
// readable only by the service user, or two environment variables.
type CredentialSource struct {
	// File, when set, is a credentials file in the config file's syntax
	// with the keys id, secret and optionally receipt_token. It must be a
	// regular file owned by the service user with no group or other
	// permission bits (chmod 600 or 400).
	File string
	// IDEnv and SecretEnv name the environment variables read when File is
	// empty. Their defaults depend on the provider kind (DefaultEnv).
	IDEnv, SecretEnv string
	// ReceiptTokenEnv names the environment variable holding the token that
	// authenticates this provider's receipt pushes, when File is empty.
	ReceiptTokenEnv string
}

// DefaultEnv returns the conventional environment variables of a kind's
// SDK for the access key id and secret.
func DefaultEnv(k Kind) (idEnv, secretEnv string) {
	switch k {
	case KindAliyun:
		return "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
	case KindTencent:
		return "TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"
	}
	return "", ""
}

// ErrCredentials is wrapped by every credential loading error.
var ErrCredentials = errors.New("credentials")

// Load reads the credentials and the receipt token (zero when not
// configured) through getenv (os.Getenv in production). Errors name the
// file or variable, never a value.
func (s CredentialSource) Load(getenv func(string) string) (Credentials, Secret, error) {
	if s.File != "" {
		return loadCredentialFile(s.File)
	}
	c := Credentials{ID: getenv(s.IDEnv), Secret: NewSecret(getenv(s.SecretEnv))}
	if c.ID == "" || c.Secret.IsZero() {
		return Credentials{}, Secret{}, fmt.Errorf("%w: set %s and %s, or credentials_file", ErrCredentials, s.IDEnv, s.SecretEnv)
	}
	var token Secret
	if s.ReceiptTokenEnv != "" {
		token = NewSecret(getenv(s.ReceiptTokenEnv))
	}
	return c, token, nil
}

// loadCredentialFile reads a credentials file after checking that only its
// owner, the service user, can read it.
func loadCredentialFile(path string) (Credentials, Secret, error) {
	f, err := os.Open(path)
	if err != nil {
		return Credentials{}, Secret{}, fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Credentials{}, Secret{}, fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	if err := checkPrivate(path, fi); err != nil {
		return Credentials{}, Secret{}, err
	}
	doc, err := parseDocument(path, f)
	if err != nil {
		return Credentials{}, Secret{}, fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	var c Credentials
	var token Secret
	for _, e := range doc.entries {
		str, perr := e.str()
		switch {
		case e.section != "":
			return Credentials{}, Secret{}, fmt.Errorf("%w: %w", ErrCredentials, e.errorf(path, "no sections in a credentials file"))
		case perr != nil:
			return Credentials{}, Secret{}, fmt.Errorf("%w: %w", ErrCredentials, e.errorf(path, "%v", perr))
		case e.key == "id":
			c.ID = str
		case e.key == "secret":
			c.Secret = NewSecret(str)
		case e.key == "receipt_token":
			token = NewSecret(str)
		default:
			return Credentials{}, Secret{}, fmt.Errorf("%w: %w", ErrCredentials, e.errorf(path, "unknown key (want id, secret, receipt_token)"))
		}
	}
	if c.ID == "" || c.Secret.IsZero() {
		return Credentials{}, Secret{}, fmt.Errorf("%w: %s: want both id and secret", ErrCredentials, path)
	}
	return c, token, nil
}

// checkPrivate refuses a credentials file that is not a regular file, is
// not owned by the current user, or has any group or other permission bit.
func checkPrivate(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file", ErrCredentials, path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o: readable by others; chmod 600 it", ErrCredentials, path, perm)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%w: %s is owned by uid %d, not by the service user (uid %d)", ErrCredentials, path, st.Uid, os.Getuid())
	}
	return nil
}
