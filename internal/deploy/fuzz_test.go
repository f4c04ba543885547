package deploy

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzVerify feeds arbitrary bytes to Verify: it must never panic, must
// return a manifest exactly when it returns no error, and every failure must
// wrap ErrInvalid. The seed corpus is in testdata/fuzz/FuzzVerify: valid
// packages, tampered ones, truncated gzip and tar streams.
func FuzzVerify(f *testing.F) {
	f.Add(synthPackage(f, "Svc"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Verify(bytes.NewReader(data))
		if (m == nil) == (err == nil) {
			t.Fatalf("manifest %v with error %v", m, err)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error does not wrap ErrInvalid: %v", err)
		}
	})
}
