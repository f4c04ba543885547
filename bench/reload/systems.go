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
	"sync"
	"syscall"
	"time"
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
func (i *instance) workers() []int { return children(i.sup) }

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
	inst.stop = atExit(func() {
		kids := children(inst.sup)
		syscall.Kill(inst.sup, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			syscall.Kill(-inst.sup, syscall.SIGKILL)
			<-exited
		}
		killLeftovers(kids)
	})
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

func (s pm2) home() string { return filepath.Join(s.o.work, "pm2-home") }

// cli runs one pm2 command, logging to pm2-cli.log.
func (s pm2) cli(ctx context.Context, port int, args ...string) error {
	logf, err := os.OpenFile(filepath.Join(s.o.work, "pm2-cli.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, s.o.pm2, args...)
	cmd.Env = append(os.Environ(), "PM2_HOME="+s.home(), "PORT="+strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pm2 %s: %w (see %s)", strings.Join(args, " "), err, logf.Name())
	}
	return nil
}

func (s pm2) godPID() int {
	b, err := os.ReadFile(filepath.Join(s.home(), "pm2.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid > 0 && !alive(pid) {
		return 0
	}
	return pid
}

func (s pm2) launch(ctx context.Context, n, port int) (*instance, error) {
	stop := atExit(s.kill)
	if err := s.cli(ctx, port, "start", s.o.app, "-i", strconv.Itoa(n), "--name", pm2App); err != nil {
		stop()
		return nil, err
	}
	inst := &instance{port: port, sup: s.godPID(), stop: stop}
	if inst.sup == 0 {
		stop()
		return nil, errors.New("pm2: no God daemon pid after start")
	}
	inst.reload = func(ctx context.Context) error { return s.cli(ctx, port, "reload", pm2App) }
	return inst, nil
}

// kill stops the daemon and its workers: pm2 kill, then signals.
func (s pm2) kill() {
	god := s.godPID()
	if god == 0 {
		return // pm2 kill would start a daemon to kill it
	}
	kids := children(god)
	s.cli(context.Background(), 0, "kill")
	if alive(god) {
		syscall.Kill(god, syscall.SIGKILL)
	}
	killLeftovers(kids)
}

// ---- processes --------------------------------------------------------------

// children lists the pids whose parent is pid.
func children(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := statFields(p); len(f) > 1 && f[1] == strconv.Itoa(pid) && f[0] != "Z" {
			out = append(out, p)
		}
	}
	return out
}

// statFields returns the fields of /proc/PID/stat after the command name:
// state, ppid, ...
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	f := statFields(pid)
	return len(f) > 0 && f[0] != "Z"
}

// killLeftovers SIGKILLs whichever of pids still runs after a short grace.
func killLeftovers(pids []int) {
	deadline := time.Now().Add(3 * time.Second)
	for _, p := range pids {
		for alive(p) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(p) {
			fmt.Fprintf(os.Stderr, "reload: worker %d outlived its supervisor, killing it\n", p)
			syscall.Kill(p, syscall.SIGKILL)
		}
	}
}

// ---- cleanup registry -------------------------------------------------------

var (
	cleanMu  sync.Mutex
	cleanups = map[int]func(){}
	cleanSeq int
)

// atExit registers f to run at exit unless the returned func is called
// first (which runs f and unregisters it).
func atExit(f func()) (run func()) {
	cleanMu.Lock()
	defer cleanMu.Unlock()
	cleanSeq++
	id := cleanSeq
	cleanups[id] = f
	var once sync.Once
	return func() {
		once.Do(func() {
			cleanMu.Lock()
			delete(cleanups, id)
			cleanMu.Unlock()
			f()
		})
	}
}

func cleanupAll() {
	cleanMu.Lock()
	fs := make([]func(), 0, len(cleanups))
	for _, f := range cleanups {
		fs = append(fs, f)
	}
	cleanups = map[int]func(){}
	cleanMu.Unlock()
	for _, f := range fs {
		f()
	}
}
