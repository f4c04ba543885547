package main

import "os"

// privateControlDir gives the package's agents a control socket directory
// of their own (XDG_RUNTIME_DIR): the tests never meet, nor refuse to start
// beside, an agent the developer runs, and leave nothing in the real
// runtime directory. TestMain calls it; the returned func removes the dir.
func privateControlDir() (cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "rt") // short: a unix socket path holds 107 bytes
	if err != nil {
		return nil, err
	}
	os.Setenv("XDG_RUNTIME_DIR", dir)
	return func() { os.RemoveAll(dir) }, nil
}
