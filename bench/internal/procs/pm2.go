package procs

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

// PM2 runs one PM2 installation with its own PM2_HOME.
type PM2 struct {
	Bin  string // the pm2 executable
	Home string // PM2_HOME: the daemon's socket, pid file and logs
	Log  string // file the CLI's output is appended to
}

// CLI runs `pm2 args...` with env added to the environment, bounded by 60 s
// (also after ctx ends, so that clean-ups still work).
func (p PM2) CLI(ctx context.Context, env []string, args ...string) error {
	logf, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, p.Bin, args...)
	cmd.Env = append(append(os.Environ(), "PM2_HOME="+p.Home), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pm2 %s: %w (see %s)", strings.Join(args, " "), err, p.Log)
	}
	return nil
}

// GodPID returns the pid of the running PM2 daemon, 0 when none runs.
func (p PM2) GodPID() int {
	b, err := os.ReadFile(filepath.Join(p.Home, "pm2.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 || !Alive(pid) {
		return 0
	}
	return pid
}

// Kill stops the daemon and every worker: `pm2 kill`, then SIGKILL for the
// daemon and the workers still there.
func (p PM2) Kill(who string) {
	god := p.GodPID()
	if god == 0 {
		return // pm2 kill would start a daemon to kill it
	}
	kids := Children(god)
	p.CLI(context.Background(), nil, "kill")
	if Alive(god) {
		syscall.Kill(god, syscall.SIGKILL)
	}
	KillLeftovers(who, kids)
}
