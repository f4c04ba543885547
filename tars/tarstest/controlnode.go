// Package tarstest runs the real TARS peers of the interop tests: Node.js
// programs built on @tars/rpc and @tars/stream from npm, installed by
//
//	npm ci --prefix tars/testdata/interop
//
// which ./test.sh does. Tests using it fail under CI=true and skip elsewhere
// when node_modules or node is missing (package internal/testtool).
package tarstest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/internal/testtool"
)

// InteropDir is the directory of the Node.js peers and their node_modules.
func InteropDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "interop")
}

// Node returns the node binary. When it or the peers are not installed, t
// fails under CI=true and skips elsewhere (testtool.Missing).
func Node(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(InteropDir(), "node_modules", "@tars", "rpc")); err != nil {
		testtool.Missing(t, "the TARS interop peers @tars/rpc and @tars/stream", "npm ci --prefix tars/testdata/interop")
	}
	return testtool.Require(t, "node", "apt-get install nodejs")
}

// Call is one call a control node received.
type Call struct {
	Servant string            `json:"servant"`
	Fn      string            `json:"fn"`
	T       int64             `json:"t"` // ms since the epoch
	Args    json.RawMessage   `json:"args"`
	Context map[string]string `json:"context"` // the request's context (QueryF, ConfigF calls)
}

// ControlNode is tarsnode.js: a fake TARS control node made of real
// @tars/rpc servers for tars.tarsnode.ServerObj, tars.tarsnotify.NotifyObj,
// tars.tarsconfig.ConfigObj and tars.tarsregistry.QueryObj, each on its own
// loopback port.
type ControlNode struct {
	Ports struct{ Node, Notify, Config, Query int }
	Calls <-chan Call
	held  []Call // received, not returned yet by NextOf
}

// StartControlNode runs a control node until t ends; its ConfigObj has no
// files.
func StartControlNode(t testing.TB) *ControlNode { return StartControlNodeWithConfigs(t, "") }

// StartControlNodeWithConfigs runs a control node until t ends whose
// ConfigObj serves the files of dir (read at each call, so a test may
// change them), by name.
func StartControlNodeWithConfigs(t testing.TB, dir string) *ControlNode {
	t.Helper()
	node := Node(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	args := []string{"tarsnode.js"}
	if dir != "" {
		args = append(args, dir)
	}
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = InteropDir()
	cmd.Stderr = io.Discard // @tars/rpc prints warnings
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	calls := make(chan Call, 1000)
	p := &ControlNode{Calls: calls}
	lines := bufio.NewScanner(stdout)
	read := make(chan struct{})
	if !lines.Scan() || json.Unmarshal(lines.Bytes(), &struct{ Ports any }{&p.Ports}) != nil || p.Ports.Node == 0 {
		cancel()
		cmd.Wait()
		t.Fatalf("tarsnode.js did not start: %q", lines.Text())
	}
	go func() {
		defer close(read)
		for lines.Scan() {
			var c Call
			if json.Unmarshal(lines.Bytes(), &c) == nil {
				calls <- c
			}
		}
	}()
	t.Cleanup(func() {
		stdin.Close() // tarsnode.js exits when its stdin closes
		<-read
		if err := cmd.Wait(); err != nil {
			t.Errorf("tarsnode.js: %v", err)
		}
		cancel()
	})
	return p
}

// Next returns the next call received, failing t after 15 s.
func (p *ControlNode) Next(t testing.TB) Call {
	t.Helper()
	select {
	case c := <-p.Calls:
		return c
	case <-time.After(15 * time.Second):
		t.Fatal("no call reached the control node within 15 s")
		return Call{}
	}
}

// NextOf returns the first call of fn to servant not returned yet, in the
// order received, waiting up to 15 s for one to arrive. Calls of other
// functions are kept for later NextOf calls: the agent's reporters run on
// their own connections, so their calls may arrive in any order. Do not mix
// it with Next on the same ControlNode.
func (p *ControlNode) NextOf(t testing.TB, servant, fn string) Call {
	t.Helper()
	for i, c := range p.held {
		if c.Servant == servant && c.Fn == fn {
			p.held = append(p.held[:i], p.held[i+1:]...)
			return c
		}
	}
	deadline := time.After(15 * time.Second)
	for {
		select {
		case c := <-p.Calls:
			if c.Servant == servant && c.Fn == fn {
				return c
			}
			p.held = append(p.held, c)
		case <-deadline:
			var held []string
			for _, c := range p.held {
				held = append(held, c.Servant+"."+c.Fn)
			}
			t.Fatalf("no %s.%s call within 15 s (others received: %v)", servant, fn, held)
			return Call{}
		}
	}
}
