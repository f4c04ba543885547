package sms

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSQLiteConcurrentOpen: the workers of a fresh gateway open, and so
// create, one database at the same moment. Every one of them must open it:
// none may give up on SQLITE_BUSY while another switches it to WAL mode or
// creates the schema (a worker that did exited at start, seen in CI as a
// spurious crash of the gateway under the agent). Processes, not
// goroutines: SQLite's locks between connections of one process differ.
func TestSQLiteConcurrentOpen(t *testing.T) {
	const rounds, procs = 10, 4
	for round := range rounds {
		path := filepath.Join(t.TempDir(), fmt.Sprintf("round%d", round), "sms.db")
		var cmds []*exec.Cmd
		var outs []*strings.Builder
		for range procs {
			cmd := exec.Command(os.Args[0], "-test.run=^$", "sqlite:"+path, "0", "0")
			cmd.Env = append(os.Environ(), envHelper+"=store")
			out := new(strings.Builder)
			cmd.Stdin = strings.NewReader("go\n")
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill() })
			cmds, outs = append(cmds, cmd), append(outs, out)
		}
		for i, cmd := range cmds {
			if err := waitTimeout(cmd, 60*time.Second); err != nil {
				t.Fatalf("round %d: a process opening %s: %v: %s", round, path, err, outs[i])
			}
		}
	}
}
