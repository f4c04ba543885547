package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// reaper is the one place of the agent that waits for child processes.
// It waits on SIGCHLD (no thread blocked per child) and hands each exit
// status to the callback registered for the pid.
//
// As PID 1 or a subreaper (PR_SET_CHILD_SUBREAPER) orphans of the workers'
// process trees reparent to the agent; the reaper then waits for any pid
// (wait4(-1)), so it reaps them too, and every other child of the agent
// must be started through it (start, run) or its status would be stolen.
// Otherwise it waits only for the pids registered with it and never
// touches other children of the process (tests start their own).
//
// A child is started and registered under a read lock of the one the
// reaper holds while it reaps, so a child that exits at once is never
// reaped before its callback exists, a pid reused after a reap cannot
// inherit a stale status, and several children can start at once.
type reaper struct {
	mu      sync.RWMutex // reap holds it; starts share it
	regMu   sync.Mutex   // serialises the starts' writes to waiting
	waiting map[int]func(syscall.WaitStatus)
	early   map[int]syscall.WaitStatus // exits of held children not yet adopted
	any     bool                       // wait for any pid: PID 1 or subreaper
	log     agentLog
	sigs    chan os.Signal
	quit    chan struct{}
	done    chan struct{}
	// subreaper is true when this reaper turned PR_SET_CHILD_SUBREAPER on
	// (and turns it off in close).
	subreaper bool
}

// newReaper starts the reaper. With subreaper (and on Linux) the process
// becomes a child subreaper; as PID 1 it reaps orphans anyway. held are
// children the agent's previous program started (an upgrade in place):
// their exits before adopt registers them are kept for it.
func newReaper(subreaper bool, log agentLog, held ...int) *reaper {
	r := &reaper{
		waiting: map[int]func(syscall.WaitStatus){},
		log:     log,
		sigs:    make(chan os.Signal, 1),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	r.hold(held)
	if os.Getpid() == 1 {
		r.any = true
		log.info("running as PID 1: reaping every orphan")
	} else if subreaper {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			log.warn("cannot become a child subreaper, orphans of workers reparent to init: %v", err)
		} else {
			r.any, r.subreaper = true, true
		}
	}
	signal.Notify(r.sigs, syscall.SIGCHLD)
	go r.loop()
	return r
}

func (r *reaper) loop() {
	defer close(r.done)
	for {
		r.reap() // also catches exits before Notify took effect
		select {
		case <-r.sigs:
		case <-r.quit:
			return
		}
	}
}

// reap collects every child that has exited. SIGCHLDs coalesce, so it
// loops until no child is left to wait for.
func (r *reaper) reap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.any {
		for pid, fn := range r.waiting {
			var ws syscall.WaitStatus
			got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
			if got == pid || errors.Is(err, syscall.ECHILD) {
				delete(r.waiting, pid)
				fn(ws)
			}
		}
		return
	}
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
		if fn, ok := r.waiting[pid]; ok {
			delete(r.waiting, pid)
			fn(ws)
			continue
		}
		r.log.info("reaped orphan pid %d (%v)", pid, describeWait(ws))
	}
}

// start starts cmd, registers exited for it and returns its pid. exited
// runs on the reaper's goroutine and must not block. cmd.Wait must not be
// called (the reaper waits), so cmd must not be made with a context and its
// standard streams must be *os.File or nil: no goroutine that only Wait
// would end.
func (r *reaper) start(cmd *exec.Cmd, exited func(syscall.WaitStatus)) (int, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	r.regMu.Lock()
	r.waiting[pid] = exited
	r.regMu.Unlock()
	// The process handle (a pidfd) is not needed: the reaper waits by pid.
	cmd.Process.Release()
	return pid, nil
}

// run runs cmd to completion through the reaper, like cmd.Run: the agent's
// own helper commands (a --watch rebuild) must not wait for themselves
// while the reaper waits for any pid. Stdout and Stderr may be any writers.
// Cancelling ctx kills the command. cmd must not be made with a context.
func (r *reaper) run(ctx context.Context, cmd *exec.Cmd) error {
	var copies sync.WaitGroup
	var ours []*os.File // write ends to close in the agent once started
	piped := map[io.Writer]*os.File{}
	for _, stream := range []*io.Writer{&cmd.Stdout, &cmd.Stderr} {
		if *stream == nil {
			continue
		}
		if _, ok := (*stream).(*os.File); ok {
			continue
		}
		if pw, ok := piped[*stream]; ok { // the same writer: one pipe, as exec does
			*stream = pw
			continue
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			closeAll(ours)
			return err
		}
		dst := *stream
		piped[dst] = pw
		*stream = pw
		ours = append(ours, pw)
		copies.Add(1)
		go func() {
			defer copies.Done()
			defer pr.Close()
			io.Copy(dst, pr)
		}()
	}
	exited := make(chan syscall.WaitStatus, 1)
	pid, err := r.start(cmd, func(ws syscall.WaitStatus) { exited <- ws })
	closeAll(ours)
	if err != nil {
		copies.Wait()
		return err
	}
	var ws syscall.WaitStatus
	select {
	case ws = <-exited:
	case <-ctx.Done():
		r.kill(pid)
		ws = <-exited
	}
	copies.Wait()
	if st := statusOf(ws); st.Code != 0 || st.Signal != 0 {
		return fmt.Errorf("%s: %v", filepath.Base(cmd.Path), st)
	}
	return nil
}

// kill SIGKILLs pid if it is still waited for: a pid already reaped may
// belong to another process by now.
func (r *reaper) kill(pid int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.waiting[pid]; ok {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// close stops the reaper. Children still registered are no longer waited
// for by it.
func (r *reaper) close() {
	close(r.quit)
	<-r.done
	signal.Stop(r.sigs)
	if r.subreaper {
		unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	}
}

// describeWait renders a wait status like exitStatus.String.
func describeWait(ws syscall.WaitStatus) string {
	return statusOf(ws).String()
}

// statusOf converts a wait status.
func statusOf(ws syscall.WaitStatus) exitStatus {
	if ws.Signaled() {
		return exitStatus{Code: -1, Signal: ws.Signal()}
	}
	return exitStatus{Code: ws.ExitStatus()}
}
