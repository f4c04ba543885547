package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/internal/control"
	"github.com/nodeagent/node-agent/internal/testtool"
)

// TestUpgradeRefusedAsPID1 runs the agent for real as PID 1, the init of
// a new PID namespace (as in a container), and asks it to upgrade in
// place: it refuses, saying why, and keeps every worker; then it still
// stops cleanly. unshare needs root (CAP_SYS_ADMIN); CI runs as root.
func TestUpgradeRefusedAsPID1(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a new PID namespace needs root (CI runs as root)")
	}
	unshare := testtool.Require(t, "unshare", "apt-get install util-linux")
	dir := t.TempDir()
	a := filepath.Join(dir, "node-agent-a")
	buildAll(t, agentBuild(a, "9.0.0-a"), workerBuild(dir))
	// --kill-child: the namespace (agent and workers) goes with unshare.
	r := startRig(t, a, dir, 2, rigOptions{wrap: []string{unshare, "--pid", "--fork", "--mount-proc", "--kill-child"}})
	before := r.status()
	if before.PID != 1 {
		t.Fatalf("the agent runs as pid %d in its namespace, want 1", before.PID)
	}
	load := startKeepAliveLoad(r.addr, 2)
	defer load.finish()
	out, code := r.upgrade(a, a)
	want := "the agent is PID 1 (a container's init): if the new program failed after the exec, the container would stop with every worker; replace the container's image instead"
	if code != 1 || !strings.Contains(out, "upgrade refused: "+want) {
		t.Fatalf("upgrade of PID 1: exit %d, %q; want exit 1 and %q", code, out, want)
	}
	t.Logf("upgrade of PID 1: %s", out)
	st := r.status()
	if st.Version != "9.0.0-a" || fmt.Sprint(workerPIDs(st)) != fmt.Sprint(workerPIDs(before)) || st.Ready() != 2 {
		t.Fatalf("after the refusal: version %q, workers %v (%d ready); want 9.0.0-a, %v", st.Version, workerPIDs(st), st.Ready(), workerPIDs(before))
	}
	if failures := load.finish(); len(failures) > 0 {
		t.Fatalf("%d requests failed, first: %v", len(failures), failures[0])
	}
	// unshare passes no signal on: stop the agent through its control
	// socket, as `node-agent stop` does.
	if _, err := r.call(control.Request{Op: control.OpShutdown}); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if code := waitExit(t, r.a, 30*time.Second); code != 0 {
		t.Fatalf("unshare (the agent as PID 1) exited with %d after shutdown", code)
	}
}
