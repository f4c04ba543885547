package agent

import (
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/cilium/ebpf"
	"github.com/nodeagent/node-agent/container/wire"
)

// handoverFDs collects the descriptors a hand-over passes; a nil one
// collects nothing (the preview the new binary checks).
type handoverFDs []int

// add records fd (when it is one) and returns it.
func (f *handoverFDs) add(fd int) int {
	if f != nil && fd >= 0 {
		*f = append(*f, fd)
	}
	return fd
}

// snapshotForHandover writes the run loop's state into a hand-over
// document. With fds, the workers' readers are paused (pauseReads) and
// every descriptor the document names is added to fds; without, it is a
// preview: the same document but for what the channels buffered. The
// agent must be upgradable (every slot has one ready *osProc worker).
func (s *Supervisor) snapshotForHandover(fds *handoverFDs) *handoverDoc {
	d := &handoverDoc{
		Protocol:   handoverProtocol,
		From:       s.version,
		Args:       os.Args,
		Began:      s.began,
		Level:      s.level,
		Exceptions: s.report.exceptions(),
		Window:     s.policy.handover(),
		Retired:    s.report.retired(),
		Reloads:    s.report.reloads(),
		NextCmdID:  s.gathers.nextID,
		Client:     -1,
	}
	for _, sl := range s.table.slots {
		w := sl.w
		p := w.p.(*osProc)
		ws := workerState{PID: p.pid, Linked: w.linked, Started: w.started, LastBeat: w.lastBeat,
			Channel: fds.add(rawFD(p.conn))}
		if fds != nil {
			ws.Buffered, ws.FDs = p.conn.Pending()
			for _, fd := range ws.FDs {
				fds.add(fd)
			}
		}
		p.streams.Lock()
		ws.Stdout, ws.Stderr = -1, -1
		if p.stdout != nil {
			ws.Stdout = fds.add(rawFD(p.stdout))
		}
		if p.stderr != nil {
			ws.Stderr = fds.add(rawFD(p.stderr))
		}
		p.streams.Unlock()
		if p.scope != nil {
			ws.Tag = p.scope.tag
			if p.scope.cg != nil {
				ws.Cgroup = p.scope.cg.dir
			}
		}
		d.Slots = append(d.Slots, slotState{ID: sl.id, Restarts: s.report.slotRestarts(sl.id),
			LastStart: sl.lastStart, Worker: ws})
	}
	d.Sockets = s.sockets.snapshot(fds)
	if c := s.up.starter.contain; c != nil {
		d.Contain = containState{Token: c.token, Seq: c.seq.Load()}
		if c.tree != nil {
			d.Contain.Tree, d.Contain.TreeSeq = c.tree.dir, c.tree.seq.Load()
		}
		if c.guard != nil {
			d.Contain.GuardianPID, d.Contain.GuardianWrite = c.guard.pid, fds.add(rawFD(c.guard.end))
		}
	}
	return d
}

// snapshot describes the listening sockets, adding their descriptors and
// their steerers' to fds.
func (s *sockets) snapshot(fds *handoverFDs) socketsState {
	st := socketsState{SharedWhy: s.sharedWhy, LoggedWhy: s.loggedWhy}
	for key, g := range s.groups {
		gs := groupState{Key: key, Network: g.network, Address: addrString(g.addr), Shared: -1, Prog: -1, Sockets: -1, Serving: -1}
		if g.shared != nil {
			gs.Shared = fds.add(g.shared.fd)
		} else {
			gs.PerSlot = map[int]int{}
			for id, l := range g.perSlot {
				gs.PerSlot[id] = fds.add(l.fd)
			}
		}
		if g.steer != nil {
			gs.Prog = fds.add(g.steer.prog.FD())
			gs.Sockets = fds.add(g.steer.sockets.FD())
			gs.Serving = fds.add(g.steer.serving.FD())
			gs.Current = g.steer.current
		}
		st.Groups = append(st.Groups, gs)
	}
	return st
}

// adoptSockets takes over the listening sockets a previous program of the
// agent held, and their steerers.
func (s *sockets) adopt(st socketsState) error {
	s.sharedWhy, s.loggedWhy = st.SharedWhy, st.LoggedWhy
	for _, gs := range st.Groups {
		addr, err := parseListenAddr(gs.Network, gs.Address)
		if err != nil {
			return err
		}
		g := &listenGroup{network: gs.Network, addr: addr}
		if gs.Shared >= 0 {
			g.shared = &rawListener{fd: gs.Shared, addr: addr}
		} else {
			g.perSlot = map[int]rawListener{}
			for id, fd := range gs.PerSlot {
				g.perSlot[id] = rawListener{fd: fd, addr: addr}
			}
		}
		if gs.Prog >= 0 {
			if g.steer, err = adoptSteerer(gs); err != nil {
				return fmt.Errorf("listening sockets of %s: %w", gs.Key, err)
			}
		}
		s.groups[gs.Key] = g
	}
	return nil
}

// adoptSteerer takes over the steering program and maps of a group.
func adoptSteerer(gs groupState) (*steerer, error) {
	prog, err := ebpf.NewProgramFromFD(gs.Prog)
	if err != nil {
		return nil, err
	}
	sockets, err := ebpf.NewMapFromFD(gs.Sockets)
	if err != nil {
		prog.Close()
		return nil, err
	}
	serving, err := ebpf.NewMapFromFD(gs.Serving)
	if err != nil {
		prog.Close()
		sockets.Close()
		return nil, err
	}
	return &steerer{prog: prog, sockets: sockets, serving: serving, current: gs.Current}, nil
}

// parseListenAddr parses the bound address of a listen group.
func parseListenAddr(network, address string) (net.Addr, error) {
	switch network {
	case "unix", "unixpacket":
		return &net.UnixAddr{Name: address, Net: network}, nil
	}
	a, err := net.ResolveTCPAddr(network, address)
	if err != nil {
		return nil, fmt.Errorf("listening socket %s %s: %w", network, address, err)
	}
	return a, nil
}

// adoptContainment takes over the containment of the previous program:
// its token, cgroup tree and guardian (registered with r).
func adoptContainment(st containState, r *reaper) *containment {
	c := &containment{token: st.Token}
	c.seq.Store(st.Seq)
	if st.Tree != "" {
		c.tree = &cgroupTree{dir: st.Tree}
		c.tree.seq.Store(st.TreeSeq)
	}
	if st.GuardianPID > 0 && st.GuardianWrite >= 0 {
		g := &guardian{pid: st.GuardianPID, end: os.NewFile(uintptr(st.GuardianWrite), "guardian"), exited: make(chan struct{})}
		r.adopt(g.pid, func(syscall.WaitStatus) { close(g.exited) })
		c.guard = g
	}
	return c
}

// adopt takes over a worker process the previous program started: its
// channel (with what was buffered), its output pipes, its scope, and its
// exit through the reaper (the reaper holds it: newReaper's held).
func (s *osStarter) adopt(slot int, ws workerState, post func(event)) (*osProc, error) {
	ch := os.NewFile(uintptr(ws.Channel), "agent-channel")
	conn, err := wire.Resume(ch, ws.Buffered, ws.FDs)
	ch.Close()
	if err != nil {
		return nil, err
	}
	p := &osProc{conn: conn, pid: ws.PID, slot: slot, post: post, received: make(chan struct{})}
	if ws.Stdout >= 0 {
		p.stdout = os.NewFile(uintptr(ws.Stdout), "worker-stdout")
		p.outputs.Add(1)
	}
	if ws.Stderr >= 0 {
		p.stderr = os.NewFile(uintptr(ws.Stderr), "worker-stderr")
		p.outputs.Add(1)
	}
	if ws.Tag != "" {
		p.scope = &workerScope{tag: ws.Tag}
		if ws.Cgroup != "" {
			p.scope.cg = &workerCgroup{dir: ws.Cgroup}
		}
	}
	s.read(p)
	s.reaper.adopt(p.pid, s.exitedFunc(p))
	return p, nil
}
