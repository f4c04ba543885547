package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/nodeagent/node-agent/internal/agent"
)

// builtAgent is node-agent built once for all the end-to-end tests of the
// package: one build (and one link) instead of one per test.
var builtAgent struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

// agentBinary returns the built node-agent. The tests only run it (or link
// to it); none may change it.
func agentBinary(t *testing.T) string {
	t.Helper()
	b := &builtAgent
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "node-agent-e2e-"); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "node-agent")
		b.out, b.err = exec.Command("go", "build", "-o", b.path, ".").CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("go build node-agent: %v\n%s", b.err, b.out)
	}
	return b.path
}

func TestMain(m *testing.M) {
	if agent.GuardianMode() { // agents run in-process (run) start this binary as their guardian
		os.Exit(agent.RunGuardian())
	}
	cleanup, err := privateControlDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	cleanup()
	if builtAgent.dir != "" {
		os.RemoveAll(builtAgent.dir)
	}
	os.Exit(code)
}
