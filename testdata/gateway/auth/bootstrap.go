package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
)

// DefaultAppID is the application created when none is configured.
const DefaultAppID = "default"

// DefaultSecretFile is where the default application's secret is written in
// the gateway's data directory.
func DefaultSecretFile(dataDir string) string {
	return filepath.Join(dataDir, "app-"+DefaultAppID+".secret")
}

// newSecret returns 32 bytes of crypto/rand, base64url: 43 characters.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// bootstrapDefault returns the default application: every template, free
// text, no quota, and the secret of the store (the first worker's), which
// it writes to DefaultSecretFile(dataDir), mode 0600, if the file does not
// hold it yet. created reports that this call made the secret.
func bootstrapDefault(ctx context.Context, st Store, dataDir string) (app App, path string, created bool, err error) {
	mine := newSecret()
	secret, err := st.InitSecret(ctx, DefaultAppID, mine)
	if err != nil {
		return App{}, "", false, fmt.Errorf("auth: creating the %s application: %w", DefaultAppID, err)
	}
	path = DefaultSecretFile(dataDir)
	if old, err := os.ReadFile(path); err != nil || strings.TrimSpace(string(old)) != secret {
		if err := writePrivate(path, secret+"\n"); err != nil {
			return App{}, "", false, fmt.Errorf("auth: writing the %s application's secret: %w", DefaultAppID, err)
		}
	}
	app = App{ID: DefaultAppID, AllTemplates: true, FreeText: true,
		Keys: []Key{{Name: filepath.Base(path), Secret: provider.NewSecret(secret)}}}
	return app, path, secret == mine, nil
}

// writePrivate writes data to path, mode 0600, atomically: a reader sees
// the old file or the new one, and workers writing at once do no harm.
func writePrivate(path, data string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".secret-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
