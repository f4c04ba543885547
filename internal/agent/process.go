package agent

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
	"github.com/nodeagent/node-agent/internal/agent/config"
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
	// Send writes a frame to the worker's channel, with the descriptors
	// of files (see wire.Conn.Send).
	Send(k wire.Kind, v any, files ...syscall.Conn) error
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

// osStarter starts real processes. Every start runs on one of
// startThreads goroutines, each locked to its OS thread for the agent's
// lifetime: Pdeathsig fires when the thread that forked the child exits,
// so forking from arbitrary goroutines could kill workers whenever the
// runtime retires a thread. Several threads let a batch of starts overlap
// the wait of each fork for its child's exec, which on a loaded host is a
// scheduling delay of tens of milliseconds. Exits are collected by the
// reaper.
type osStarter struct {
	reaper   *reaper
	requests chan func()
	quit     chan struct{}
	done     sync.WaitGroup
	output   func(pid int, level string, stream io.Reader) error
	// record writes a worker's logger record (KindLog) off the run loop.
	record func(pid int, m wire.Message)
	// stats adds a worker's monitoring frame (wire.Kind.IsMonitoring) to
	// the statistics, off the run loop: the frames need nothing of its
	// state, and each would wake it.
	stats func(slot, pid int, m wire.Message)
	// contain tags the workers and puts each in its cgroup; nil: neither.
	contain *containment
	// stdin is every worker's standard input: /dev/null, opened once
	// rather than by exec at each start; nil if that failed (exec then
	// opens it at each start, and says why it cannot).
	stdin *os.File
}

// startThreads is the number of threads that fork workers.
const startThreads = 4

func newOSStarter(r *reaper, output func(pid int, level string, stream io.Reader) error, record func(pid int, m wire.Message), stats func(slot, pid int, m wire.Message)) *osStarter {
	s := &osStarter{reaper: r, requests: make(chan func()), quit: make(chan struct{}), output: output, record: record, stats: stats}
	if f, err := os.Open(os.DevNull); err == nil {
		s.stdin = f
	}
	s.done.Add(startThreads)
	for range startThreads {
		go s.loop()
	}
	return s
}

func (s *osStarter) loop() {
	runtime.LockOSThread() // never unlocked: the thread must outlive every worker
	defer s.done.Done()
	for {
		select {
		case f := <-s.requests:
			f()
		case <-s.quit:
			return
		}
	}
}

// close stops the start goroutines. Call it only once no worker is alive:
// their threads exit with them.
func (s *osStarter) close() {
	close(s.quit)
	s.done.Wait()
	if s.stdin != nil {
		s.stdin.Close()
	}
}

// parentDeathSignal is the Pdeathsig of the workers: none while a guardian
// runs, SIGKILL otherwise. The kernel sends it when the thread that forked
// the worker ends, and an execve ends every thread but the caller's, so
// workers with it would not survive an in-place upgrade (upgrade.go); the
// guardian kills them as surely when the agent dies, and, unlike it,
// carries over an execve.
func (s *osStarter) parentDeathSignal() syscall.Signal {
	if s.contain != nil && s.contain.guard != nil {
		return 0
	}
	return syscall.SIGKILL
}

// start starts a worker; events of the process go to post.
func (s *osStarter) start(spec procSpec, post func(event)) (proc, error) {
	procs, errs := s.startMany([]procSpec{spec}, post)
	return procs[0], errs[0]
}

// startMany starts the workers of specs, their forks spread over the start
// threads in one request each: each start handed over on its own costs two
// thread wake-ups besides the fork, and each fork waits for its child's
// exec, which on a loaded host with hundreds of workers made the starts,
// not the workers, the slow part. procs[i] is the worker of specs[i], or
// nil with errs[i] saying why.
func (s *osStarter) startMany(specs []procSpec, post func(event)) (procs []proc, errs []error) {
	procs, errs = make([]proc, len(specs)), make([]error, len(specs))
	var batch []*starting
	for i, spec := range specs {
		st, err := s.prepare(spec, post)
		if err != nil {
			errs[i] = err
			continue
		}
		st.index = i
		batch = append(batch, st)
	}
	s.fork(batch)
	for _, st := range batch {
		if err := s.finish(st); err != nil {
			errs[st.index] = err
		} else {
			procs[st.index] = st.p
		}
	}
	return procs, errs
}

// fork forks the workers of batch, spread over the start threads.
func (s *osStarter) fork(batch []*starting) {
	var forked sync.WaitGroup
	per := (len(batch) + startThreads - 1) / startThreads
	for len(batch) > 0 {
		part := batch[:min(per, len(batch))]
		batch = batch[len(part):]
		forked.Add(1)
		select {
		case s.requests <- func() {
			defer forked.Done()
			for _, st := range part {
				st.p.pid, st.err = s.reaper.start(st.cmd, st.exited)
			}
		}:
		case <-s.quit:
			forked.Done()
			for _, st := range part {
				st.err = fmt.Errorf("agent is stopping")
			}
		}
	}
	forked.Wait()
}

// starting is a worker between prepare and finish.
type starting struct {
	index int
	spec  procSpec
	cmd   *exec.Cmd
	p     *osProc
	err   error // of the fork

	conn               *wire.Conn
	theirs, outW, errW *os.File // the worker's ends, closed once forked
	outR, errR         *os.File
	exited             func(syscall.WaitStatus)
	post               func(event)
}

// prepare makes the channel, the output pipes and the command of a worker.
func (s *osStarter) prepare(spec procSpec, post func(event)) (*starting, error) {
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
	if s.stdin != nil {
		cmd.Stdin = s.stdin
	}
	cmd.Stdout = outW
	cmd.Stderr = errW
	cmd.ExtraFiles = []*os.File{theirs} // fd 3 = wire.ChannelFD
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: s.parentDeathSignal()}
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
	p := &osProc{conn: conn, scope: scope, slot: spec.Slot, post: post, stdout: outR, stderr: errR, received: make(chan struct{})}
	p.outputs.Add(2) // before the exit can wait for them
	st := &starting{spec: spec, cmd: cmd, p: p, conn: conn, theirs: theirs, outW: outW, errW: errW,
		outR: outR, errR: errR, exited: s.exitedFunc(p), post: post}
	return st, nil
}

// finish closes the worker's ends of a forked worker and starts reading
// its output and channel; for a failed fork, it releases everything.
func (s *osStarter) finish(st *starting) error {
	closeAll([]*os.File{st.theirs, st.outW, st.errW})
	if scope := st.p.scope; scope != nil {
		scope.started()
		if st.err != nil {
			scope.remove()
		}
	}
	if st.err != nil {
		st.conn.Close()
		closeAll([]*os.File{st.outR, st.errR})
		close(st.p.received)
		return fmt.Errorf("start %s: %w", st.spec.Path, st.err)
	}
	s.read(st.p)
	return nil
}

// exitedFunc is the reaper's callback for p: it marks p exited and, off
// the reaper's goroutine, posts procExited once p's channel and output are
// read.
func (s *osStarter) exitedFunc(p *osProc) func(syscall.WaitStatus) {
	return func(ws syscall.WaitStatus) {
		p.exited.Store(true)
		go func() {
			// Its last records and lines come before its exit in the log.
			// The channel is read to the end of what the worker sent —
			// nothing it sent before it died is lost — and no further:
			// a process it left behind may hold the channel open. The
			// pipes are waited for a moment, for the same reason.
			p.conn.CloseRead()
			<-p.received
			p.conn.Close()
			drained := make(chan struct{})
			go func() { p.outputs.Wait(); close(drained) }()
			select {
			case <-drained:
			case <-time.After(outputDrainLimit):
			}
			p.post(procExited{p: p, status: statusOf(ws)})
			if p.scope != nil { // what it left outside its group goes with it
				p.scope.remove()
			}
		}()
	}
}

// read starts p's readers: a pump for each output stream still open and
// the channel reader. They run until their stream ends, or until paused
// (pauseReads), and then read starts them again.
func (s *osStarter) read(p *osProc) {
	p.streams.Lock()
	defer p.streams.Unlock()
	for _, stream := range []struct {
		f     **os.File
		level string
	}{{&p.stdout, "INFO"}, {&p.stderr, "ERROR"}} {
		if *stream.f == nil {
			continue
		}
		p.running.Add(1)
		go s.pump(p, stream.f, stream.level)
	}
	p.running.Add(1)
	go func() {
		defer p.running.Done()
		for {
			m, err := p.conn.Receive()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return // paused; what was buffered stays in conn
			}
			if err != nil {
				close(p.received)
				return
			}
			switch {
			case m.Kind == wire.KindLog:
				closeAll(m.Files) // a record carries none; never keep strays
				s.record(p.pid, m)
				continue
			case m.Kind.IsMonitoring():
				closeAll(m.Files)
				s.stats(p.slot, p.pid, m)
				continue
			}
			p.post(procMessage{p: p, msg: m})
		}
	}()
}

// pump turns the output stream *f of p into log records until it ends
// (then closes it and sets *f to nil) or is paused.
func (s *osStarter) pump(p *osProc, f **os.File, level string) {
	defer p.running.Done()
	if err := s.output(p.pid, level, *f); errors.Is(err, os.ErrDeadlineExceeded) {
		return // paused
	}
	p.streams.Lock()
	(*f).Close()
	*f = nil
	p.streams.Unlock()
	p.outputs.Done()
}

type osProc struct {
	conn *wire.Conn
	pid  int
	slot int
	post func(event)
	// scope holds its descendants that left its process group; nil
	// without containment.
	scope *workerScope

	// stdout and stderr are the agent's ends of the worker's output
	// pipes, each nil once its pump read it to the end (under streams).
	streams        sync.Mutex
	stdout, stderr *os.File
	outputs        sync.WaitGroup // a count per output stream not yet read to its end
	received       chan struct{}  // closed when the channel ended
	running        sync.WaitGroup // the readers running (pauseReads waits for them)
	exited         atomic.Bool    // the reaper saw the process end
}

func (p *osProc) PID() int { return p.pid }

func (p *osProc) Send(k wire.Kind, v any, files ...syscall.Conn) error {
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
