package agent

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/nodeagent/node-agent/internal/agent/config"
)

// TestWorkerEnvironment checks the environment of SPEC §5: WORKER_ID per
// slot and systemd's variables scrubbed.
func TestWorkerEnvironment(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "/run/systemd/notify")
	cfg := testConfig(2, "whoami")
	r := run(t, cfg)
	seen := map[string]bool{}
	for len(seen) < 2 {
		m := r.waitLine(`worker=(\d) notify="(.*)"`)
		if m[2] != "" {
			t.Fatalf("NOTIFY_SOCKET reached a worker: %q", m[2])
		}
		seen[m[1]] = true
	}
	if !seen["0"] || !seen["1"] {
		t.Fatalf("slots %v, want 0 and 1", seen)
	}
}

// TestRunAsUser runs workers as nobody; it needs root.
func TestRunAsUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("switching users needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody:", err)
	}
	exe := executableByAll(t, "worker")
	dir := filepath.Dir(exe)
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	cfg := testConfig(1, "whoami")
	cfg.Entry = config.Entry{Path: exe, Dir: dir}
	cfg.RunAs = &config.Credential{UID: uint32(uid), GID: uint32(gid), User: nobody.Username, Home: nobody.HomeDir}
	r := run(t, cfg)
	m := r.waitLine(`uid=(\d+) gid=(\d+) home=(\S*) user=(\S*)`)
	if m[1] != nobody.Uid || m[2] != nobody.Gid || m[3] != nobody.HomeDir || m[4] != "nobody" {
		t.Fatalf("worker identity %q, want nobody (%s:%s, %s)", m[0], nobody.Uid, nobody.Gid, nobody.HomeDir)
	}
}

// executableByAll copies the test binary into a directory every user can
// enter, so a worker run as nobody can execute it.
func executableByAll(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	return copyExecutable(t, dir, name)
}
