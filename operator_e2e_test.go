package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/internal/agent"
	"github.com/nodeagent/node-agent/internal/control"
)

// tickerScript is a plain worker writing a numbered line every 100 ms.
const tickerScript = `n=0; while :; do n=$((n+1)); echo "tick $WORKER_ID $n"; sleep 0.1; done`

// operatorRig is the built agent and a private control dir.
type operatorRig struct {
	t   *testing.T
	bin string
	env []string // XDG_RUNTIME_DIR of the rig
	dir string   // the control dir in it
}

func newOperatorRig(t *testing.T) *operatorRig {
	t.Helper()
	rt, err := os.MkdirTemp("", "rt") // short: a unix socket path holds 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(rt) })
	return &operatorRig{t: t, bin: agentBinary(t), env: []string{"XDG_RUNTIME_DIR=" + rt}, dir: filepath.Join(rt, "node-agent")}
}

// start runs an agent of ticker workers named name and waits until its
// workers are ready.
func (r *operatorRig) start(name string, instances int, extra ...string) *agentProcess {
	r.t.Helper()
	args := append([]string{"/bin/sh", "-n", name, "-i", fmt.Sprint(instances)}, extra...)
	args = append(args, "--", "-c", tickerScript)
	cmd := exec.Command(r.bin, args...)
	cmd.Env = append(os.Environ(), r.env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	a := &agentProcess{cmd: cmd, out: out, exited: make(chan error, 1)}
	go func() { a.exited <- cmd.Wait() }()
	r.t.Cleanup(func() {
		cmd.Process.Kill()
		err := <-a.exited
		a.exited <- err
		if r.t.Failed() {
			r.t.Logf("agent %s output:\n%s", name, out.String())
		}
	})
	var st agent.Status
	ok := poll(30*time.Second, func() bool {
		st = r.status(name)
		return st.Ready() == instances
	})
	if !ok {
		r.t.Fatalf("agent %s: %d of %d workers ready after 30 s", name, st.Ready(), instances)
	}
	return a
}

// status asks the agent named name for its status over the control socket
// (the zero Status when it does not answer).
func (r *operatorRig) status(name string) agent.Status {
	var st agent.Status
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	text, err := control.Call(ctx, control.Path(r.dir, name), control.Request{Op: control.OpStatus})
	if err == nil {
		json.Unmarshal([]byte(text), &st)
	}
	return st
}

// cmd runs the built binary with args and returns stdout, stderr, exit code.
func (r *operatorRig) cmd(args ...string) (string, string, int) {
	r.t.Helper()
	cmd := exec.Command(r.bin, args...)
	cmd.Env = append(os.Environ(), r.env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return out.String(), errb.String(), exit.ExitCode()
	case err != nil:
		r.t.Fatal(err)
	}
	return out.String(), errb.String(), 0
}

// pty runs the built binary with args in a w×h terminal.
func (r *operatorRig) pty(t *testing.T, w, h int, args ...string) *ptyTerm {
	return newPty(t, w, h, r.env, append([]string{r.bin}, args...)...)
}

// waitExit waits for a to exit and returns its exit code.
func waitExit(t *testing.T, a *agentProcess, within time.Duration) int {
	t.Helper()
	select {
	case err := <-a.exited:
		a.exited <- err
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(within):
		t.Fatalf("agent still runs after %v", within)
	}
	return -1
}

// TestOperatorCommands drives live agents with the operator commands,
// through a real terminal where an operator would look at them.
func TestOperatorCommands(t *testing.T) {
	r := newOperatorRig(t)
	a := r.start("ticker", 2)
	pid := a.cmd.Process.Pid

	t.Run("same name refused", func(t *testing.T) {
		_, stderr, code := r.cmd("/bin/sh", "-n", "ticker", "--", "-c", "sleep 100")
		if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, fmt.Sprintf("pid %d", pid)) {
			t.Fatalf("second agent named ticker: exit %d, stderr %q; want 2 and one line naming pid %d", code, stderr, pid)
		}
	})

	t.Run("status", func(t *testing.T) {
		st := r.status("ticker")
		p := r.pty(t, 80, 24, "status")
		if code := p.waitExit(10 * time.Second); code != "0" {
			t.Fatalf("status exit %s; screen:\n%s", code, p.screen())
		}
		screen := p.screen()
		for _, want := range []string{"ticker  pid " + fmt.Sprint(pid), "2/2 ready", "SLOT", "RSS", "CPU",
			fmt.Sprint(st.Workers[0].PID), fmt.Sprint(st.Workers[1].PID), "restarts: none"} {
			if !strings.Contains(screen, want) {
				t.Errorf("status screen lacks %q:\n%s", want, screen)
			}
		}
		out, _, code := r.cmd("status", "ticker", "--json")
		var js agent.Status
		if err := json.Unmarshal([]byte(out), &js); code != 0 || err != nil || js.PID != pid || len(js.Workers) != 2 {
			t.Fatalf("status --json: exit %d, %v: %q", code, err, out)
		}
	})

	t.Run("completion", func(t *testing.T) {
		for _, shell := range []string{"bash", "zsh"} {
			out, _, code := r.cmd("completion", shell)
			if code != 0 || !strings.Contains(out, "--generate-bash-completion") {
				t.Fatalf("completion %s: exit %d, %q", shell, code, out)
			}
		}
		// The scripts ask node-agent: commands, a command's flags, the
		// names of the agents running.
		for args, want := range map[string]string{
			"--generate-bash-completion":            "monit\n",
			"logs - --generate-bash-completion":     "--follow\n",
			"status --generate-bash-completion":     "ticker\n",
			"completion --generate-bash-completion": "zsh\n",
		} {
			out, _, _ := r.cmd(strings.Fields(args)...)
			if !strings.Contains(out, want) {
				t.Errorf("node-agent %s: %q lacks %q", args, out, want)
			}
		}
	})

	logDir := t.TempDir()
	other := r.start("other", 1, "-l", logDir)

	t.Run("ls and names", func(t *testing.T) {
		p := r.pty(t, 80, 24, "ls")
		p.waitExit(10 * time.Second)
		screen := p.screen()
		lines := regexp.MustCompile(`(?m)^(ticker|other)\s+(\d+)\s+(\d+/\d+)`).FindAllStringSubmatch(screen, -1)
		if len(lines) != 2 || lines[0][1] != "other" || lines[0][3] != "1/1" || lines[1][2] != fmt.Sprint(pid) || lines[1][3] != "2/2" {
			t.Fatalf("ls screen:\n%s", screen)
		}
		_, stderr, code := r.cmd("status")
		if code != 2 || !strings.Contains(stderr, "2 agents run (other, ticker): name one") {
			t.Fatalf("status with two agents and no name: exit %d, %q", code, stderr)
		}
		_, stderr, code = r.cmd("status", "nosuch")
		if code != 1 || !strings.Contains(stderr, "no agent named nosuch runs") {
			t.Fatalf("status nosuch: exit %d, %q", code, stderr)
		}
	})

	t.Run("logs from the files", func(t *testing.T) {
		file := filepath.Join(logDir, "other", "other.log")
		if !poll(10*time.Second, func() bool { b, _ := os.ReadFile(file); return bytes.Count(b, []byte("\n")) >= 5 }) {
			t.Fatalf("%s has no 5 lines", file)
		}
		out, _, code := r.cmd("logs", "other", "-n", "3")
		if code != 0 || strings.Count(out, "\n") != 3 || strings.Count(out, "tick 0 ") != 3 {
			t.Fatalf("logs -n 3: exit %d, %q", code, out)
		}
		p := r.pty(t, 80, 24, "logs", "other", "-f", "-n", "2")
		first := p.waitScreen(10*time.Second, "two tick lines", func(s string) bool { return strings.Count(s, "tick 0 ") >= 2 })
		p.waitScreen(10*time.Second, "new lines", func(s string) bool { return lastTick(s) > lastTick(first)+3 })
		p.keys("C-c")
		p.waitExit(10 * time.Second)
		out, _, code = r.cmd("logs", "other", "--agent", "-n", "50")
		if code != 0 || !strings.Contains(out, "starting agent") {
			t.Fatalf("logs --agent: exit %d, %q", code, out)
		}
	})

	t.Run("stop by name", func(t *testing.T) {
		out, _, code := r.cmd("stop", "other")
		if code != 0 || !strings.Contains(out, "agent other (pid ") || !strings.Contains(out, "is stopping") {
			t.Fatalf("stop other: exit %d, %q", code, out)
		}
		if c := waitExit(t, other, 20*time.Second); c != 0 {
			t.Fatalf("other exited with %d", c)
		}
		if names, _ := control.Names(r.dir); len(names) != 1 || names[0] != "ticker" {
			t.Fatalf("sockets after other stopped: %v", names)
		}
	})

	t.Run("logs -f live stream", func(t *testing.T) {
		p := r.pty(t, 80, 24, "logs", "-f", "-n", "3")
		first := p.waitScreen(10*time.Second, "tick lines", func(s string) bool { return strings.Count(s, "tick ") >= 3 })
		p.waitScreen(10*time.Second, "new lines", func(s string) bool { return lastTick(s) > lastTick(first)+3 })
		p.keys("C-c")
		if code := p.waitExit(10 * time.Second); code != "0" {
			t.Fatalf("logs -f after ^C: exit %s", code)
		}
	})

	t.Run("monit", func(t *testing.T) {
		p := r.pty(t, 80, 24, "monit", "--interval", "300ms")
		header := fmt.Sprintf("node-agent monit · ticker · pid %d · running 2/2 ready", pid)
		first := p.waitScreen(15*time.Second, "the monit view", func(s string) bool {
			return strings.HasPrefix(s, header) && strings.Contains(s, "SLOT") && strings.Contains(s, "tick ") &&
				strings.Contains(s, "q quits")
		})
		rows := strings.Split(strings.TrimSuffix(first, "\n"), "\n")
		if len(rows) != 24 || !strings.HasPrefix(rows[23], "q quits") {
			t.Fatalf("monit does not fill 24 rows with the footer last (%d rows):\n%s", len(rows), first)
		}
		for i, row := range rows {
			if n := len([]rune(row)); n > 80 {
				t.Fatalf("row %d is %d columns wide: %q", i, n, row)
			}
		}
		workerRow := regexp.MustCompile(`(?m)^0\s+\d+\s+ready\s+\S+\s+0\s+\d+\.\d`)
		if !workerRow.MatchString(first) {
			t.Fatalf("no row for worker 0:\n%s", first)
		}
		// It refreshes: new log lines arrive and the sparklines grow.
		p.waitScreen(10*time.Second, "a refresh", func(s string) bool {
			return lastTick(s) > lastTick(first)+3 && sparkLen(s) > sparkLen(first)
		})
		p.keys("q")
		if code := p.waitExit(5 * time.Second); code != "0" {
			t.Fatalf("monit after q: exit %s", code)
		}
		if strings.Contains(p.screen(), "node-agent monit") {
			t.Fatalf("monit left its view on the screen after q:\n%s", p.screen())
		}
	})

	t.Run("scale and reload", func(t *testing.T) {
		out, _, code := r.cmd("scale", "3")
		if code != 0 || !strings.Contains(out, "3 workers") {
			t.Fatalf("scale 3: exit %d, %q", code, out)
		}
		if !poll(20*time.Second, func() bool { return r.status("ticker").Ready() == 3 }) {
			t.Fatal("3 workers never ready")
		}
		out, _, code = r.cmd("reload")
		if code != 0 {
			t.Fatalf("reload: exit %d, %q", code, out)
		}
		if st := r.status("ticker"); st.Restarts["reload"] != 3 {
			t.Fatalf("restarts after reload: %v", st.Restarts)
		}
		out, _, _ = r.cmd("status", "ticker")
		if !strings.Contains(out, "restarts: reload 3") || strings.Count(out, " 1 (reload 1) ") != 3 {
			t.Fatalf("status after a reload does not show the restarts by cause:\n%s", out)
		}
		_, stderr, code := r.cmd("scale", "ticker", "0")
		if code != 2 || !strings.Contains(stderr, `N "0"`) {
			t.Fatalf("scale 0: exit %d, %q", code, stderr)
		}
	})

	t.Run("ctl unknown command", func(t *testing.T) {
		// Over the control socket the agent answers a typed error, where
		// AdminF answers TarsGo's words with return 0 (TestInteropTarsPlatform).
		out, stderr, code := r.cmd("ctl", "no.such.command", "x")
		if code != 1 || out != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "no.such.command x not support now!") {
			t.Fatalf("ctl no.such.command over the control socket: exit %d, stdout %q, stderr %q", code, out, stderr)
		}
	})

	t.Run("stale socket after SIGKILL", func(t *testing.T) {
		a.cmd.Process.Signal(syscall.SIGKILL)
		waitExit(t, a, 10*time.Second)
		_, stderr, code := r.cmd("status")
		if code != 1 || !strings.Contains(stderr, "no agent runs") {
			t.Fatalf("status after SIGKILL: exit %d, %q", code, stderr)
		}
		out, _, _ := r.cmd("ls")
		if !strings.Contains(out, "gone (stale socket") {
			t.Fatalf("ls after SIGKILL: %q", out)
		}
		b := r.start("ticker", 1)
		if !poll(10*time.Second, func() bool {
			return strings.Contains(b.output(), fmt.Sprintf("took over the stale one of pid %d", pid))
		}) {
			t.Fatalf("the new agent did not say it took over pid %d's socket", pid)
		}
		out, _, code = r.cmd("ctl", "shutdown")
		if code != 0 || !strings.Contains(out, "is stopping") {
			t.Fatalf("ctl shutdown: exit %d, %q", code, out)
		}
		waitExit(t, b, 20*time.Second)
		if names, _ := control.Names(r.dir); len(names) != 0 {
			t.Fatalf("sockets left after the last agent stopped: %v", names)
		}
	})
}

// lastTick is the largest tick number on a screen.
func lastTick(screen string) int {
	n := 0
	for _, m := range regexp.MustCompile(`tick \d+ (\d+)`).FindAllStringSubmatch(screen, -1) {
		var v int
		fmt.Sscan(m[1], &v)
		n = max(n, v)
	}
	return n
}

// sparkLen is the length of the longest run of sparkline characters.
func sparkLen(screen string) int {
	n := 0
	for _, m := range regexp.MustCompile(`[▁▂▃▄▅▆▇█]+`).FindAllString(screen, -1) {
		n = max(n, len([]rune(m)))
	}
	return n
}

// TestRunAsUserUnreachableEntry: workers that could not execute the entry
// stop the agent at start with one line, not with a crash loop.
func TestRunAsUserUnreachableEntry(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run workers as nobody")
	}
	dir := t.TempDir() // mode 0700, owned by root
	entry := filepath.Join(dir, "svc")
	if err := os.WriteFile(entry, []byte("#!/bin/sh\nsleep 100\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	var out, errb bytes.Buffer
	code := run([]string{"node-agent", entry, "--run-as-user", "nobody"}, &out, &errb)
	msg := errb.String()
	if code != 2 || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "--run-as-user nobody cannot execute "+entry) {
		t.Fatalf("exit %d, stderr %q", code, msg)
	}
}
