package agent

import (
	"bytes"
	"debug/buildinfo"
	"io"
	"os"
	"strings"
)

// containerModule is the module of the worker library.
const containerModule = "github.com/nodeagent/node-agent"

// containerOpen returns the pclntab entry of the function every worker
// that talks to the agent runs (container.Open calls it): its name and a
// NUL. Function names, inlined ones too, stay in a Go binary's pclntab even
// when it is stripped (-s -w). The name is joined at run time: as a
// constant it would be in the agent's own binary, which does not link
// container.
func containerOpen() []byte {
	return []byte(strings.Join([]string{containerModule, "/container.", "OpenWith", "\x00"}, ""))
}

// linksContainer reports whether the executable at path is expected to say
// hello: a Go binary built with this module that contains
// container.OpenWith. Its workers start in state starting and are ready
// only when they say so, under --ready-timeout. Anything else is a plain
// binary: ready when started (SPEC §5).
//
// This is only the expectation a start is judged by. What a worker is, is
// decided by its hello: only a worker that said hello gets the stop
// message, forwarded commands and keepalive (worker.linked). So a plain
// entry that execs a linked program (a wrapper script) is served as linked
// once it says hello, and a binary that merely depends on this module (say,
// for package tars) is plain.
func linksContainer(path string) bool {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return false // not a Go binary
	}
	dep := info.Main.Path == containerModule
	for _, d := range info.Deps {
		dep = dep || d.Path == containerModule
	}
	if !dep {
		return false
	}
	found, err := fileContains(path, containerOpen())
	return found || err != nil // unreadable now: trust the module
}

// fileContains reports whether the file at path contains needle, reading
// it in chunks.
func fileContains(path string, needle []byte) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	const chunk = 1 << 20
	buf := make([]byte, 0, chunk+len(needle))
	for {
		n, err := io.ReadFull(f, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if bytes.Contains(buf, needle) {
			return true, nil
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		keep := len(needle) - 1 // a match may straddle two chunks
		buf = append(buf[:0], buf[len(buf)-keep:]...)
	}
}
