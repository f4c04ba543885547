package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
type nodeAgent struct {
	o    options
	term bool
}

func (s nodeAgent) name() string {
	if s.term {
		return "node-agent-term"
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
	cmd := exec.Command(s.o.agent, s.o.gateway, "-i", strconv.Itoa(n),
		"--http-address", fmt.Sprintf("127.0.0.1:%d", port), "--exception-max", "1000000")
	cmd.Env = append(os.Environ(), "SMS_DATA_DIR="+filepath.Join(s.o.work, "sms"))
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
	inst.stop = benchkit.AtExit(ctx, func() { benchkit.StopSupervisor("reload", inst.sup, exited, 15*time.Second) })
	return inst, nil
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

type pm2 struct{ o options }

const pm2App = "reloadbench"

func (pm2) name() string { return "pm2" }

// cli is the pm2 command line for a run on port.
func (s pm2) cli(port int) benchkit.PM2 {
	return benchkit.PM2{Bin: s.o.pm2, Home: filepath.Join(s.o.work, "pm2-home"), Log: filepath.Join(s.o.work, "pm2-cli.log"),
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
	return inst, nil
}
