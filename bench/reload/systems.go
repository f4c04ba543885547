package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nodeagent/node-agent/bench/internal/benchkit"
)

// instance is one running supervisor with its workers on port.
type instance struct {
	port int
	sup  int // supervisor pid: node-agent, or PM2's God daemon
	// reload starts (node-agent) or performs (pm2) a rolling reload.
	reload func(ctx context.Context) error
	stop   func()
	// keeps is set when reload keeps the workers (an upgrade in place).
	keeps bool
}

// workers returns the supervisor's child processes.
func (i *instance) workers() []int { return benchkit.Children(i.sup) }

type system interface {
	name() string
	launch(ctx context.Context, n, port int) (*instance, error)
}

// ---- node-agent + gateway -------------------------------------------------

// nodeAgent reloads with SIGHUP to the agent. With term set, the driver
// does the rolling restart itself instead: SIGTERM to one worker at a
// time, waiting for the agent's replacement to answer before the next (the
// agent restarts a worker that exited at once). That measures the workers'
// drain alone, with an agent that has no reload, and is reported as
// "node-agent-term".
//
// With upgrade set, the "reload" is an upgrade of the agent in place, to
// -agent-next and back at the next one, that must keep every worker; it
// is reported as "node-agent-upgrade", its time is the upgrade command's.
type nodeAgent struct {
	o       options
	term    bool
	upgrade bool
}

func (s nodeAgent) name() string {
	switch {
	case s.term:
		return "node-agent-term"
	case s.upgrade:
		return "node-agent-upgrade"
	}
	return "node-agent"
}

func (s nodeAgent) launch(ctx context.Context, n, port int) (*instance, error) {
	logf, err := os.OpenFile(filepath.Join(s.o.work, "node-agent.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	// --exception-max: in term mode every worker stop is an exit the agent
	// did not ask for.
	cmd := exec.Command(s.o.agent, s.o.gateway, "-n", agentName, "-i", strconv.Itoa(n),
		"--http-address", fmt.Sprintf("127.0.0.1:%d", port), "--exception-max", "1000000")
	runtimeDir, err := os.MkdirTemp("", "rt") // short: a unix socket path holds 107 bytes
	if err != nil {
		logf.Close()
		return nil, err
	}
	env := append(os.Environ(), "SMS_DATA_DIR="+filepath.Join(s.o.work, "sms"), "XDG_RUNTIME_DIR="+runtimeDir)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	inst := &instance{port: port, sup: cmd.Process.Pid}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(exited) }()
	inst.reload = func(context.Context) error {
		return syscall.Kill(inst.sup, syscall.SIGHUP)
	}
	if s.term {
		inst.reload = func(ctx context.Context) error { return termEach(ctx, inst, n) }
	}
	if s.upgrade {
		inst.keeps = true
		next := []string{s.o.agentNext, s.o.agent}
		upgrades := 0
		inst.reload = func(ctx context.Context) error {
			to := next[upgrades%2]
			upgrades++
			return upgradeAgent(ctx, s.o.agent, to, env, logf)
		}
	}
	inst.stop = benchkit.AtExit(ctx, func() {
		benchkit.StopSupervisor("reload", inst.sup, exited, 15*time.Second)
		os.RemoveAll(runtimeDir)
	})
	return inst, nil
}

// agentName is the name of the benchmark's agent (its control socket).
const agentName = "reloadbench"

// upgradeAgent runs `bin upgrade --binary to` against the benchmark's
// agent, its answer going to log; it fails unless the agent answered that
// it upgraded.
func upgradeAgent(ctx context.Context, bin, to string, env []string, log *os.File) error {
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, bin, "upgrade", agentName, "--binary", to)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	fmt.Fprintf(log, "bench: upgrade to %s: %s", to, out)
	if err != nil {
		return fmt.Errorf("upgrade to %s: %w: %s", to, err, out)
	}
	// The agent's answer names the hand-over time proper (from the freeze
	// to the new program's adoption; the command's time adds the checks).
	fmt.Printf("    (%s)\n", strings.TrimSpace(string(out)))
	return nil
}

// termEach stops the workers one by one with SIGTERM, each time waiting
// until it is gone and n workers answer again.
func termEach(ctx context.Context, inst *instance, n int) error {
	for _, pid := range inst.workers() {
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			return err
		}
		if err := waitGone(ctx, []int{pid}, 20*time.Second); err != nil {
			return err
		}
		if _, err := waitServing(ctx, inst.port, n, 20*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// ---- PM2 cluster + app.js -------------------------------------------------

// pm2 reloads with `pm2 reload`, or with update set runs `pm2 update`
// (PM2's own upgrade: it saves the process list, replaces its daemon and
// starts the apps again), reported as "pm2-update".
type pm2 struct {
	o      options
	update bool
}

const pm2App = "reloadbench"

func (s pm2) name() string {
	if s.update {
		return "pm2-update"
	}
	return "pm2"
}

// cli is the pm2 command line for a run on port.
func (s pm2) cli(port int) benchkit.PM2 {
	return benchkit.PM2{Bin: s.o.pm2, Home: filepath.Join(s.o.work, "pm2-home"), Log: filepath.Join(s.o.work, "pm2-cli.log"), Timeout: s.o.pm2Timeout,
		Env: append(os.Environ(), "PORT="+strconv.Itoa(port))}
}

func (s pm2) launch(ctx context.Context, n, port int) (*instance, error) {
	p := s.cli(port)
	stop := benchkit.AtExit(ctx, func() { p.Kill("reload") })
	if err := p.Run(ctx, "start", s.o.app, "-i", strconv.Itoa(n), "--name", pm2App); err != nil {
		stop()
		return nil, err
	}
	inst := &instance{port: port, sup: p.GodPID(), stop: stop}
	if inst.sup == 0 {
		stop()
		return nil, errors.New("pm2: no God daemon pid after start")
	}
	inst.reload = func(ctx context.Context) error { return p.Run(ctx, "reload", pm2App) }
	if s.update {
		inst.reload = func(ctx context.Context) error {
			if err := p.Run(ctx, "update"); err != nil {
				return err
			}
			inst.sup = p.GodPID() // a new daemon
			return nil
		}
	}
	return inst, nil
}
