package agent

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Containment (SPEC §5: nothing escapes). Pdeathsig reaches a worker, its
// process group reaches what it forked, but a descendant that called
// setsid or double-forked is in neither. Two mechanisms catch it, both
// working when the agent is SIGKILLed:
//
//   - Every worker gets tagEnv=TOKEN.N in its environment — a token of
//     this agent run, the worker's number — which its descendants inherit.
//     When a worker exits, the processes with its tag are killed too (its
//     process group and cgroup are).
//   - A guardian — this binary re-executed (its main sees GuardianMode
//     and calls RunGuardian) — holds the read end of a pipe whose write end only the agent holds.
//     The agent's death, however it happens, closes it; the guardian then
//     SIGKILLs every process whose /proc/PID/environ carries the tag and,
//     where cgroup v2 is writable, kills the agent's cgroup subtree with
//     cgroup.kill (cgroup.go), until none is left.

const (
	// tagEnv tags every descendant of this agent's workers.
	tagEnv = "NODE_AGENT_TAG"
	// guardianEnv makes a process the guardian of the token it holds.
	guardianEnv = "NODE_AGENT_GUARDIAN"
	// guardianCgroupEnv names the cgroup subtree the guardian kills ("":
	// none).
	guardianCgroupEnv = "NODE_AGENT_GUARDIAN_CGROUP"
	// sweepLimit bounds how long a guardian keeps killing.
	sweepLimit = 5 * time.Second
)

// GuardianMode reports whether this process was started as a guardian:
// the agent re-executes its own binary for it, with guardianEnv set. The
// main of every binary that runs a Supervisor — node-agent, and the test
// binaries (in TestMain) — checks it first and then returns RunGuardian's
// exit code instead of doing its own work.
func GuardianMode() bool { return os.Getenv(guardianEnv) != "" }

// RunGuardian is a guardian's whole life (GuardianMode is true): it waits
// until the agent that started it ends, kills what the agent's workers
// left, and returns the process's exit code: 0, or 1 when some were still
// alive after sweepLimit (said on stderr). Standard input must be the pipe
// the agent gave it.
func RunGuardian() int {
	return guard(os.Getenv(guardianEnv), os.Getenv(guardianCgroupEnv), os.Stdin)
}

// guard waits until agent ends — the agent closed its end or died — then
// sweeps what the agent's workers left. It ignores the signals a terminal
// or a service manager sends to the agent: only the agent's end ends it.
func guard(token, cgroupDir string, agent io.Reader) int {
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGPIPE)
	io.Copy(io.Discard, agent)
	if err := sweep(token, cgroupDir, sweepLimit); err != nil {
		fmt.Fprintf(os.Stderr, "node-agent guardian: %v\n", err)
		return 1
	}
	return 0
}

// sweep kills every process tagged with token and, when cgroupDir is set,
// the cgroup subtree, until a pass finds nothing left (descendants may
// fork while it kills), then removes the subtree. It gives up after limit.
func sweep(token, cgroupDir string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		n, err := killTagged(token + ".")
		if err != nil {
			return err
		}
		populated := false
		if cgroupDir != "" {
			if populated, err = killCgroup(cgroupDir); err != nil {
				return err
			}
		}
		if n == 0 && !populated {
			if cgroupDir == "" {
				return nil
			}
			err := removeCgroupTree(cgroupDir)
			syscall.Rmdir(filepath.Dir(cgroupDir)) // fails while another agent of the service runs
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes of the agent's workers still alive after %v", limit)
		}
		time.Sleep(5 * time.Millisecond) // let the kernel finish the kills
	}
}

// killTagged SIGKILLs every process but this one whose environment holds
// a tagEnv whose value starts with prefix, and returns how many it
// signalled. A prefix ending in NUL matches one value exactly.
func killTagged(prefix string) (int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	tag := []byte(tagEnv + "=" + prefix)
	self, n := os.Getpid(), 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil { // gone, or not ours to read
			continue
		}
		if bytes.HasPrefix(env, tag) || bytes.Contains(env, append([]byte{0}, tag...)) {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				n++
			}
		}
	}
	return n, nil
}

// guardian is the agent's handle on its guardian process.
type guardian struct {
	pid    int
	end    *os.File      // the agent's end of the pipe
	exited chan struct{} // closed when the guardian exited
}

// newToken returns a random tag for this agent run.
func newToken() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// startGuardian starts the guardian of token (and of cgroupDir, "" for
// none) through the reaper.
func startGuardian(r *reaper, token, cgroupDir string) (*guardian, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("guardian: %w", err)
	}
	theirs, ours, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("guardian: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Args = []string{"node-agent-guardian"}
	cmd.Env = append(withoutVar(os.Environ(), tagEnv), guardianEnv+"="+token, guardianCgroupEnv+"="+cgroupDir)
	cmd.Stdin = theirs
	cmd.Stderr = os.Stderr
	// Its own group: a terminal's ^C to the agent's group does not reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	g := &guardian{end: ours, exited: make(chan struct{})}
	g.pid, err = r.start(cmd, func(syscall.WaitStatus) { close(g.exited) })
	theirs.Close()
	if err != nil {
		ours.Close()
		return nil, fmt.Errorf("guardian: %w", err)
	}
	return g, nil
}

// stop closes the agent's end — the guardian sweeps what is left — and
// waits for the guardian to exit, at most limit.
func (g *guardian) stop(limit time.Duration) error {
	g.end.Close()
	select {
	case <-g.exited:
		return nil
	case <-time.After(limit):
		return errors.New("the guardian did not exit")
	}
}

// withoutVar returns env without the variable name.
func withoutVar(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
