package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckRunAsAccess: the workers' identity must reach and execute the
// entry; the error names the directory in the way and, for a Go build, how
// to build elsewhere.
func TestCheckRunAsAccess(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: files owned by another uid than the one checked")
	}
	root, err := os.MkdirTemp("", "access") // t.TempDir's parent is closed to others
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	os.Chmod(root, 0o755)
	open := filepath.Join(root, "open")
	closed := filepath.Join(root, "closed")
	for _, d := range []string{open, closed} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "svc"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(closed, 0o700)
	nobody := &Credential{UID: 65534, GID: 65534, User: "nobody"}
	cases := []struct {
		name  string
		cfg   Config
		wants []string
	}{
		{"reachable", Config{RunAs: nobody, Entry: Entry{Path: filepath.Join(open, "svc")}}, nil},
		{"agent's identity", Config{Entry: Entry{Path: filepath.Join(closed, "svc")}}, nil},
		{"closed directory", Config{RunAs: nobody, Entry: Entry{Path: filepath.Join(closed, "svc")}},
			[]string{"--run-as-user nobody cannot execute", "directory " + closed, "mode 700"}},
		{"closed Go build", Config{RunAs: nobody, Entry: Entry{Path: filepath.Join(closed, "svc"), BuildCache: closed}},
			[]string{"built into " + closed, "XDG_CACHE_HOME"}},
	}
	for _, c := range cases {
		err := CheckRunAsAccess(&c.cfg)
		if c.wants == nil {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var usage *UsageError
		if !errors.As(err, &usage) {
			t.Fatalf("%s: %v, want a *UsageError", c.name, err)
		}
		for _, w := range c.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", c.name, err, w)
			}
		}
	}
	os.Chmod(filepath.Join(open, "svc"), 0o744)
	if err := CheckRunAsAccess(&Config{RunAs: nobody, Entry: Entry{Path: filepath.Join(open, "svc")}}); err == nil || !strings.Contains(err.Error(), "mode 744") {
		t.Fatalf("entry not executable by others: %v", err)
	}
}
