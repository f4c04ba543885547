package benchkit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PM2 runs the pm2 command line against one PM2_HOME.
type PM2 struct {
	Bin  string   // the pm2 executable
	Home string   // PM2_HOME
	Log  string   // file collecting the commands' output
	Env  []string // environment of the commands (PM2_HOME is added)
	// Timeout bounds each command; 0 means DefaultPM2Timeout.
	Timeout time.Duration
}

// DefaultPM2Timeout bounds a pm2 command when PM2.Timeout is 0.
const DefaultPM2Timeout = 60 * time.Second

// Run runs pm2 with args, within p.Timeout.
func (p PM2) Run(ctx context.Context, args ...string) error {
	logf, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultPM2Timeout
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, p.Bin, args...)
	cmd.Env = append(append([]string(nil), p.Env...), "PM2_HOME="+p.Home)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pm2 %s: %w (see %s)", strings.Join(args, " "), err, p.Log)
	}
	return nil
}

// GodPID returns the pid of the running PM2 daemon, 0 if none.
func (p PM2) GodPID() int {
	b, err := os.ReadFile(filepath.Join(p.Home, "pm2.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid > 0 && syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

// Kill stops the daemon and every worker, by pm2 kill then by signal.
// prog names the caller in messages.
func (p PM2) Kill(prog string) {
	god := p.GodPID()
	if god == 0 {
		return // pm2 kill would start a daemon to kill it
	}
	kids := Children(god)
	p.Run(context.Background(), "kill")
	if Alive(god) {
		syscall.Kill(god, syscall.SIGKILL)
	}
	KillLeftovers(prog, kids)
}
