package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// escaperScript is a plain worker (a shell) that leaves two processes
// outside its process group: a grandchild that called setsid, and a
// daemon that double-forked (and called setsid). Each writes its pid to a
// file in $HELPER_DIR.
const escaperScript = `
setsid sh "$HELPER_DIR/child.sh" "$HELPER_DIR/setsid" &
sh -c 'setsid sh "$1/child.sh" "$1/daemon" & exit 0' sh "$HELPER_DIR"
exec sleep 1000
`

const escaperChild = `echo $$ > "$1.tmp"; mv "$1.tmp" "$1"; exec sleep 1000
`

// cgroupUsable reports whether this host gives the agent a cgroup per
// worker, and why not.
func cgroupUsable(t *testing.T) (bool, string) {
	t.Helper()
	tree, err := openCgroupTree("probe.test", newToken()[:8])
	if err != nil {
		return false, err.Error()
	}
	if err := tree.close(); err != nil {
		t.Fatal(err)
	}
	return true, ""
}

// TestNothingEscapesAKilledAgent: after kill -9 of the agent, a setsid
// grandchild and a double-forked daemon of a worker are gone within 1 s,
// with a cgroup per worker and with the environment tag alone.
func TestNothingEscapesAKilledAgent(t *testing.T) {
	for _, mode := range []string{"cgroup", "tag"} {
		t.Run(mode, func(t *testing.T) {
			if ok, why := cgroupUsable(t); mode == "cgroup" && !ok {
				t.Skipf("cgroup v2 is not writable here (%s): the tag case covers this host", why)
			}
			dir := t.TempDir()
			script := filepath.Join(dir, "worker.sh")
			os.WriteFile(script, []byte(escaperScript), 0o644)
			os.WriteFile(filepath.Join(dir, "child.sh"), []byte(escaperChild), 0o644)
			env := []string{"HELPER_WORKERS=1", "HELPER_SCRIPT=" + script, "HELPER_DIR=" + dir}
			if mode == "tag" {
				env = append(env, cgroupSwitchEnv+"=off")
			}
			cmd, lines := startAgentProcess(t, nil, env...)
			go func() {
				for range lines { // keep the agent's output flowing
				}
			}()
			var pids []int
			for _, name := range []string{"setsid", "daemon"} {
				var pid int
				if !poll(15*time.Second, func() bool {
					b, err := os.ReadFile(filepath.Join(dir, name))
					pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
					return err == nil && pid > 0
				}) {
					t.Fatalf("the worker's %s process never started", name)
				}
				t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
				if gone(pid) {
					t.Fatalf("%s pid %d is not running", name, pid)
				}
				if pgid, _ := syscall.Getpgid(pid); pgid == cmd.Process.Pid || pgid != pid {
					t.Fatalf("%s pid %d is in process group %d: it did not escape", name, pid, pgid)
				}
				cg, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
				if inTree := strings.Contains(string(cg), "/node-agent.agent.test/agent-"); inTree != (mode == "cgroup") {
					t.Fatalf("%s pid %d in the agent's cgroup: %v, want %v (%q)", name, pid, inTree, mode == "cgroup", cg)
				}
				pids = append(pids, pid)
			}
			cmd.Process.Kill()
			killed := time.Now()
			cmd.Wait()
			for _, pid := range pids {
				if !waitGone(pid, time.Second-time.Since(killed)) {
					t.Fatalf("pid %d still runs %v after kill -9 of the agent", pid, time.Since(killed).Round(time.Millisecond))
				}
			}
			t.Logf("both gone %v after kill -9 of the agent", time.Since(killed).Round(time.Millisecond))
		})
	}
}

// readPID waits for the pid file path and returns its pid.
func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	if !poll(15*time.Second, func() bool {
		b, err := os.ReadFile(path)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	}) {
		t.Fatalf("no pid in %s", path)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

// TestEscapersGoWithTheirWorker: what a worker left outside its process
// group is killed when the worker exits, and what is left when the agent
// stops gracefully is killed by then; in both containment modes.
func TestEscapersGoWithTheirWorker(t *testing.T) {
	for _, mode := range []string{"cgroup", "tag"} {
		t.Run(mode, func(t *testing.T) {
			if ok, why := cgroupUsable(t); mode == "cgroup" && !ok {
				t.Skipf("cgroup v2 is not writable here (%s): the tag case covers this host", why)
			}
			if mode == "tag" {
				t.Setenv(cgroupSwitchEnv, "off")
			}
			dir := t.TempDir()
			script := filepath.Join(dir, "worker.sh")
			os.WriteFile(script, []byte(escaperScript), 0o644)
			os.WriteFile(filepath.Join(dir, "child.sh"), []byte(escaperChild), 0o644)
			cfg := testConfig(1, "unused")
			cfg.Entry.Path, cfg.WorkerArgs = "/bin/sh", []string{script}
			cfg.Env["HELPER_DIR"] = dir
			r := run(t, cfg)
			worker, _ := strconv.Atoi(r.waitLine(`worker 0 started, pid (\d+)`)[1])
			first := []int{readPID(t, filepath.Join(dir, "setsid")), readPID(t, filepath.Join(dir, "daemon"))}
			os.Remove(filepath.Join(dir, "setsid"))
			os.Remove(filepath.Join(dir, "daemon"))
			syscall.Kill(worker, syscall.SIGKILL) // a crash
			for _, pid := range first {
				if !waitGone(pid, 5*time.Second) {
					t.Fatalf("pid %d outlived its crashed worker", pid)
				}
			}
			second := []int{readPID(t, filepath.Join(dir, "setsid")), readPID(t, filepath.Join(dir, "daemon"))}
			r.signals <- syscall.SIGTERM
			if code := r.wait(15 * time.Second); code != ExitClean {
				t.Fatalf("exit code %d", code)
			}
			for _, pid := range second {
				if !gone(pid) {
					t.Fatalf("pid %d outlived the agent's graceful stop", pid)
				}
			}
		})
	}
}

// TestStaleCgroupsCleanedAtStart: a process left in the cgroup of a dead
// agent of the same service is killed, and that cgroup removed, when the
// next agent of the service opens its tree.
func TestStaleCgroupsCleanedAtStart(t *testing.T) {
	if ok, why := cgroupUsable(t); !ok {
		t.Skipf("cgroup v2 is not writable here (%s)", why)
	}
	const service = "stale.test"
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mount, _ := cgroup2Mount()
	own, _ := ownCgroup()
	stale := filepath.Join(mount, own, "node-agent."+service, "agent-"+strconv.Itoa(dead.Process.Pid)+"-old", "w1")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	left := exec.Command("sleep", "1000")
	if err := left.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { left.Wait(); close(exited) }()
	t.Cleanup(func() { left.Process.Kill(); <-exited })
	if err := os.WriteFile(filepath.Join(stale, "cgroup.procs"), []byte(strconv.Itoa(left.Process.Pid)), 0); err != nil {
		t.Fatal(err)
	}
	tree, err := openCgroupTree(service, "new")
	if err != nil {
		t.Fatal(err)
	}
	defer tree.close()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("the process in the stale cgroup still runs")
	}
	if _, err := os.Stat(filepath.Dir(stale)); !os.IsNotExist(err) {
		t.Fatalf("stale cgroup still there: %v", err)
	}
}
