package agent

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/nodeagent/node-agent/internal/monitor"
	"golang.org/x/sys/unix"
)

// handOver freezes the agent and execs the checked binary with the
// hand-over document. It returns only when the exec failed, after thawing
// everything: the old program then stays in charge. See the package doc
// for the commit point.
func (s *Supervisor) handOver(ev upgradeChecked) error {
	frozen := time.Now()
	r := s.up.reaper
	// No exit is reaped from now on: a worker that exits during the
	// hand-over stays a zombie for the new program's reaper.
	r.mu.Lock()
	procs := s.workerProcs()
	for _, p := range procs {
		if p.exited.Load() {
			r.mu.Unlock()
			return refused("worker pid %d exited during the check", p.pid)
		}
	}
	var paused []*osProc
	// No report is on its way from here: the interval in progress is
	// carried, or sent by this program if the hand-over fails.
	releaseReporter := func() {}
	if s.mon != nil && s.mon.reporter != nil {
		releaseReporter = s.mon.reporter.Hold()
	}
	thaw := func() {
		for _, p := range paused {
			p.resumeReads(s.up.starter)
		}
		releaseReporter()
		r.mu.Unlock()
	}
	for _, p := range procs {
		if err := p.pauseReads(); err != nil {
			thaw()
			return refused("worker pid %d: %v", p.pid, err)
		}
		paused = append(paused, p)
	}
	// Frames read before the pause are handled now: the new program
	// reads from the next byte on.
	later := s.drainMessages()
	if err := s.upgradable(); err != nil {
		thaw()
		s.queued = append(s.queued, later...)
		return err
	}
	var fds handoverFDs
	doc := s.snapshotForHandover(&fds)
	doc.Asked, doc.Frozen = ev.req.asked, frozen
	if ev.req.client != nil {
		doc.Client = fds.add(rawFD(ev.req.client))
	}
	var toClose []*os.File
	if ln := s.up.control; ln != nil {
		socket, lock, err := ln.Files()
		if err != nil {
			thaw()
			return refused("%v", err)
		}
		toClose = append(toClose, socket)
		doc.Control = &controlState{Path: ln.Path(), Socket: fds.add(rawFD(socket)), Lock: fds.add(rawFD(lock))}
	}
	ev.doors.handOverDoors(doc, &fds)
	if n := ev.doors.unanswered; n > 0 {
		s.log.warn("upgrade in place: %d control requests still unanswered after %v: their clients see the connection close", n, upgradeDrainTimeout)
	}
	var metrics *monitor.Server
	if s.mon != nil {
		metrics = s.mon.metrics
	}
	doc.Monitor = monitor.Carry(s.stats, s.tarsReporter(), metrics)
	b, err := doc.encode()
	var memfd *os.File
	if err == nil {
		memfd, err = memfdWith("node-agent-handover", b)
	}
	if err != nil {
		closeAll(toClose)
		thaw()
		return refused("%v", err)
	}
	toClose = append(toClose, memfd)
	s.log.info("upgrade in place: handing over to %s (%s) with %d workers, pid %d", ev.req.path, ev.version, len(procs), os.Getpid())
	s.out.flush()
	env := append(withoutVar(os.Environ(), handoverEnv), handoverEnv+"="+strconv.Itoa(rawFD(memfd)))
	err = execKeeping(ev.req.path, append(fds, rawFD(memfd)), env)
	// The exec failed: nothing changed.
	closeAll(toClose)
	thaw()
	s.queued = append(s.queued, later...)
	return refused("exec %s: %v", ev.req.path, err)
}

// workerProcs returns the process of every slot's worker (upgradable
// checked they are all *osProc).
func (s *Supervisor) workerProcs() []*osProc {
	var procs []*osProc
	for _, sl := range s.table.slots {
		procs = append(procs, sl.w.p.(*osProc))
	}
	return procs
}

// drainMessages handles the workers' messages already posted, and
// returns the other events posted meanwhile, for the run loop to handle
// later if the hand-over fails (after it, they are gone with this
// program: their callers see their connection close).
func (s *Supervisor) drainMessages() []event {
	var others []event
	for {
		select {
		case ev := <-s.events:
			if m, ok := ev.(procMessage); ok {
				s.handle(m)
				continue
			}
			others = append(others, ev)
		default:
			return others
		}
	}
}

// execKeeping execs path with env and the agent's own arguments, passing
// fds: it clears their close-on-exec flag, under the fork lock so that no
// worker started meanwhile inherits them, and sets it again if the exec
// fails. execve keeps the pid, the children and every descriptor without
// the flag; it ends every thread but the caller's.
func execKeeping(path string, fds []int, env []string) error {
	syscall.ForkLock.Lock()
	defer syscall.ForkLock.Unlock()
	for i, fd := range fds {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
			setCloseOnExec(fds[:i])
			return fmt.Errorf("descriptor %d: %w", fd, err)
		}
	}
	err := syscall.Exec(path, os.Args, env)
	setCloseOnExec(fds)
	return err
}

func setCloseOnExec(fds []int) {
	for _, fd := range fds {
		unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
	}
}

// pauseReads stops p's readers at the byte they reached and waits for
// them: what the channel buffered stays in p.conn (Pending), the rest in
// the kernel. resumeReads starts them again. It fails, pausing nothing,
// when a stream takes no read deadline (not pollable).
func (p *osProc) pauseReads() error {
	if err := p.setReadDeadlines(time.Now()); err != nil {
		return fmt.Errorf("cannot pause its reader: %w", err)
	}
	p.running.Wait()
	return nil
}

// resumeReads undoes pauseReads.
func (p *osProc) resumeReads(st *osStarter) {
	p.setReadDeadlines(time.Time{})
	st.read(p)
}

// setReadDeadlines sets the read deadline of p's channel and open output
// streams, or of none when one fails. A stream read to its end is closed
// under p.streams, so none is closed meanwhile.
func (p *osProc) setReadDeadlines(t time.Time) error {
	p.streams.Lock()
	defer p.streams.Unlock()
	streams := []interface{ SetReadDeadline(time.Time) error }{p.conn}
	for _, f := range []*os.File{p.stdout, p.stderr} {
		if f != nil {
			streams = append(streams, f)
		}
	}
	for i, st := range streams {
		if err := st.SetReadDeadline(t); err != nil {
			for _, set := range streams[:i] {
				set.SetReadDeadline(time.Time{})
			}
			return err
		}
	}
	return nil
}

// flush writes out what the logs buffer, before an exec: records written
// later (if the exec fails) reopen the files or go to stdout directly.
func (o *Output) flush() {
	for _, d := range o.dests {
		d.Close()
	}
}

// tarsReporter is the TARS stat and property reporter, or nil.
func (s *Supervisor) tarsReporter() *monitor.TarsReporter {
	if s.mon == nil {
		return nil
	}
	return s.mon.reporter
}
