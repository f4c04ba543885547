package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/internal/testtool"
)

// ptyTerm is a real terminal of a fixed size, run by a private tmux
// server: what an operator's ssh session gives a command.
type ptyTerm struct {
	t       *testing.T
	tmux    string
	sock    string
	session string
	// exitFile receives the command's exit status when it ends.
	exitFile string
}

// newPty runs argv (with env added) in a w×h terminal. The pane stays
// after the command exits, so that its last screen and exit can be read.
func newPty(t *testing.T, w, h int, env []string, argv ...string) *ptyTerm {
	t.Helper()
	tmux := testtool.Require(t, "tmux", "apt-get install tmux")
	dir, err := os.MkdirTemp("", "pty")
	if err != nil {
		t.Fatal(err)
	}
	p := &ptyTerm{t: t, tmux: tmux, sock: filepath.Join(dir, "tmux.sock"), session: "op"}
	t.Cleanup(func() {
		exec.Command(tmux, "-S", p.sock, "kill-server").Run()
		os.RemoveAll(dir)
	})
	p.exitFile = filepath.Join(dir, "exit")
	cmdline := "env"
	for _, e := range append([]string{"TERM=xterm-256color"}, env...) {
		cmdline += " " + shellQuote(e)
	}
	for _, a := range argv {
		cmdline += " " + shellQuote(a)
	}
	// The shell writes the exit status where exited finds it, then keeps
	// the pane and its last screen until the server is killed.
	cmdline += "; echo $? > " + shellQuote(p.exitFile) + "; exec sleep 3600"
	p.run("-f", "/dev/null", "new-session", "-d", "-s", p.session, "-x", itoa(w), "-y", itoa(h), cmdline)
	return p
}

func (p *ptyTerm) run(args ...string) string {
	p.t.Helper()
	out, err := exec.Command(p.tmux, append([]string{"-S", p.sock}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// screen returns what the terminal shows, one string per row.
func (p *ptyTerm) screen() string { return p.run("capture-pane", "-p", "-t", p.session) }

// keys types keys (tmux key names, e.g. "q", "C-c").
func (p *ptyTerm) keys(keys ...string) {
	p.run(append([]string{"send-keys", "-t", p.session}, keys...)...)
}

// exited reports whether the command ended, and its exit status.
func (p *ptyTerm) exited() (bool, string) {
	b, err := os.ReadFile(p.exitFile)
	if err != nil || !strings.HasSuffix(string(b), "\n") {
		return false, ""
	}
	return true, strings.TrimSpace(string(b))
}

// waitScreen waits until cond holds for the screen, and returns it.
func (p *ptyTerm) waitScreen(within time.Duration, what string, cond func(string) bool) string {
	p.t.Helper()
	var s string
	if !poll(within, func() bool { s = p.screen(); return cond(s) }) {
		p.t.Fatalf("terminal never showed %s; screen:\n%s", what, s)
	}
	return s
}

// waitExit waits for the command to end and returns its exit status.
func (p *ptyTerm) waitExit(within time.Duration) string {
	p.t.Helper()
	var status string
	if !poll(within, func() bool { var done bool; done, status = p.exited(); return done }) {
		p.t.Fatalf("command still runs after %v; screen:\n%s", within, p.screen())
	}
	return status
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func itoa(n int) string { return strconv.Itoa(n) }
