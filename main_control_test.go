package main

import (
	"fmt"
	"os"
	"testing"
)

// TestMain gives the package's agents a control socket directory of their
// own: the tests never meet (nor refuse to start beside) an agent the
// developer runs, and leave nothing in the real runtime directory.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rt") // short: a unix socket path holds 107 bytes
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_RUNTIME_DIR", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
