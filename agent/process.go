package agent

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/nodeagent/node-agent/agent/config"
	"github.com/nodeagent/node-agent/container/wire"
)

// procSpec is what the supervisor asks the OS seam to start.
type procSpec struct {
	Slot int
	Path string
	Args []string
	Dir  string
	Env  []string
	// RunAs is the identity of the worker, nil for the agent's own.
	RunAs *config.Credential
}

// proc is one started worker process, as the supervisor sees it. Its
// methods are safe to call after the process exited (they fail or do
// nothing).
type proc interface {
	PID() int
	// Send writes a frame to the worker's channel.
	Send(k wire.Kind, v any, files ...*os.File) error
	// SignalGroup signals the worker's process group.
	SignalGroup(sig syscall.Signal) error
}

// exitStatus describes how a worker process ended.
type exitStatus struct {
	Code   int            // exit code, -1 when killed by a signal
	Signal syscall.Signal // the signal that killed it, 0 if it exited
}

func (e exitStatus) String() string {
	if e.Signal != 0 {
		return "signal " + e.Signal.String()
	}
	return fmt.Sprintf("code %d", e.Code)
}

// outputDrainLimit bounds how long an exit waits for the worker's output.
const outputDrainLimit = 200 * time.Millisecond

// osStarter starts real processes. Every start runs on one goroutine
// locked to its OS thread for the agent's lifetime: Pdeathsig fires when
// the thread that forked the child exits, so forking from arbitrary
// goroutines could kill workers whenever the runtime retires a thread.
// Exits are collected by the reaper.
type osStarter struct {
	reaper   *reaper
	requests chan func()
	quit     chan struct{}
	done     chan struct{}
	output   func(pid int, level string, stream io.Reader)
	// record writes a worker's logger record (KindLog) off the run loop.
	record func(pid int, m wire.Message)
	// contain tags the workers and puts each in its cgroup; nil: neither.
	contain *containment
}

func newOSStarter(r *reaper, output func(pid int, level string, stream io.Reader), record func(pid int, m wire.Message)) *osStarter {
	s := &osStarter{reaper: r, requests: make(chan func()), quit: make(chan struct{}), done: make(chan struct{}), output: output, record: record}
	go s.loop()
	return s
}

func (s *osStarter) loop() {
	runtime.LockOSThread() // never unlocked: the thread must outlive every worker
	defer close(s.done)
	for {
		select {
		case f := <-s.requests:
			f()
		case <-s.quit:
			return
		}
	}
}

// close stops the start goroutine. Call it only once no worker is alive:
// its thread exits with it.
func (s *osStarter) close() {
	close(s.quit)
	<-s.done
}

// start starts a worker; events of the process go to post.
func (s *osStarter) start(spec procSpec, post func(event)) (proc, error) {
	conn, theirs, err := wire.Pair()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		closeAll([]*os.File{theirs})
		conn.Close()
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll([]*os.File{theirs, outR, outW})
		conn.Close()
		return nil, err
	}
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Dir = spec.Dir
	cmd.Env = spec.Env
	cmd.Stdout = outW
	cmd.Stderr = errW
	cmd.ExtraFiles = []*os.File{theirs} // fd 3 = wire.ChannelFD
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if c := spec.RunAs; c != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: c.UID, Gid: c.GID, NoSetGroups: true}
	}
	var scope *workerScope
	if s.contain != nil {
		if scope, err = s.contain.prepare(cmd); err != nil {
			closeAll([]*os.File{theirs, outR, outW, errR, errW})
			conn.Close()
			return nil, err
		}
	}
	p := &osProc{conn: conn, scope: scope}
	var outputs sync.WaitGroup
	outputs.Add(2) // before the exit can wait for them
	received := make(chan struct{})
	exited := func(ws syscall.WaitStatus) {
		// On the reaper's goroutine: hand over at once.
		go func() {
			// The channel may be held open by a grandchild that inherited
			// it; the worker is gone, so stop listening to it.
			conn.Close()
			<-received
			// Its last lines come before its exit in the log, unless
			// something it left behind keeps the pipes open.
			drained := make(chan struct{})
			go func() { outputs.Wait(); close(drained) }()
			select {
			case <-drained:
			case <-time.After(outputDrainLimit):
			}
			post(procExited{p: p, status: statusOf(ws)})
			if scope != nil { // what it left outside its group goes with it
				scope.remove()
			}
		}()
	}
	errc := make(chan error, 1)
	select {
	case s.requests <- func() {
		pid, err := s.reaper.start(cmd, exited)
		p.pid = pid
		errc <- err
	}:
		err = <-errc
	case <-s.quit:
		err = fmt.Errorf("agent is stopping")
	}
	closeAll([]*os.File{theirs, outW, errW})
	if scope != nil {
		scope.started()
	}
	if err != nil {
		if scope != nil {
			scope.remove()
		}
		conn.Close()
		closeAll([]*os.File{outR, errR})
		close(received)
		return nil, fmt.Errorf("start %s: %w", spec.Path, err)
	}
	go s.pump(p.pid, outR, "INFO", &outputs)
	go s.pump(p.pid, errR, "ERROR", &outputs)
	go func() {
		defer close(received)
		for {
			m, err := conn.Receive()
			if err != nil {
				return
			}
			if m.Kind == wire.KindLog {
				closeAll(m.Files) // a record carries none; never keep strays
				s.record(p.pid, m)
				continue
			}
			post(procMessage{p: p, msg: m})
		}
	}()
	return p, nil
}

// pump turns a worker's output stream into log records.
func (s *osStarter) pump(pid int, r *os.File, level string, wg *sync.WaitGroup) {
	defer wg.Done()
	defer r.Close()
	s.output(pid, level, r)
}

type osProc struct {
	conn *wire.Conn
	pid  int
	// scope holds its descendants that left its process group; nil
	// without containment.
	scope *workerScope
}

func (p *osProc) PID() int { return p.pid }

func (p *osProc) Send(k wire.Kind, v any, files ...*os.File) error {
	return p.conn.Send(k, v, files...)
}

// SignalGroup signals the process group the worker leads. The group
// outlives the worker while any member lives, so this also reaches
// grandchildren after the worker exited. SIGKILL also kills the worker's
// cgroup, which holds the descendants that left the group.
func (p *osProc) SignalGroup(sig syscall.Signal) error {
	if sig == syscall.SIGKILL && p.scope != nil {
		p.scope.kill()
	}
	err := syscall.Kill(-p.pid, sig)
	if err == syscall.ESRCH {
		return nil
	}
	return err
}
