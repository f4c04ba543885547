package agent

import (
	"fmt"
	"os/exec"
	"strconv"
	"sync/atomic"
	"time"
)

// containment keeps every descendant of the workers from outliving the
// agent (guardian.go, cgroup.go): the tag in their environment, the
// guardian, and where cgroup v2 is writable a cgroup per worker.
type containment struct {
	token string
	seq   atomic.Uint64 // numbers the workers' tags
	tree  *cgroupTree   // nil: no writable cgroup v2
	guard *guardian     // nil: the guardian could not be started
}

// contain sets up containment for the agent of service. What cannot be
// set up is logged and left out: workers still start, with less
// containment.
func contain(service string, r *reaper, log agentLog) *containment {
	c := &containment{token: newToken()}
	tree, err := openCgroupTree(service, c.token[:8])
	if err != nil {
		log.info("no cgroup per worker (%v): descendants of the workers are tracked by their environment", err)
	} else {
		c.tree = tree
	}
	dir := ""
	if c.tree != nil {
		dir = c.tree.dir
	}
	if c.guard, err = startGuardian(r, c.token, dir); err != nil {
		log.warn("%v: descendants of the workers that left their process group may outlive a killed agent", err)
	}
	return c
}

// workerScope is what holds the descendants of one worker: its tag and,
// with cgroups, its cgroup.
type workerScope struct {
	tag string        // tagEnv's value: the agent's token, a dot, a sequence number
	cg  *workerCgroup // nil without cgroups
}

// prepare tags cmd with a new worker tag and, with cgroups, makes it start
// in a new worker cgroup. Call started once the start is done.
func (c *containment) prepare(cmd *exec.Cmd) (*workerScope, error) {
	ws := &workerScope{tag: c.token + "." + strconv.FormatUint(c.seq.Add(1), 10)}
	cmd.Env = append(withoutVar(cmd.Env, tagEnv), tagEnv+"="+ws.tag)
	if c.tree == nil {
		return ws, nil
	}
	cg, err := c.tree.newWorker()
	if err != nil {
		return nil, err
	}
	ws.cg = cg
	cmd.SysProcAttr.UseCgroupFD = true
	cmd.SysProcAttr.CgroupFD = int(cg.fd.Fd())
	return ws, nil
}

// started releases what the start needed.
func (ws *workerScope) started() {
	if ws.cg != nil {
		ws.cg.started()
	}
}

// kill SIGKILLs the worker's cgroup; without one it does nothing (the
// caller signals the process group).
func (ws *workerScope) kill() {
	if ws.cg != nil {
		ws.cg.kill()
	}
}

// remove kills everything the worker left — its cgroup, or every process
// with its tag — once it exited, and removes its cgroup.
func (ws *workerScope) remove() error {
	if ws.cg != nil {
		return ws.cg.remove()
	}
	_, err := killTagged(ws.tag + "\x00")
	return err
}

// close ends containment when the agent stops: the guardian sweeps what
// the workers left, the cgroup subtree is removed.
func (c *containment) close() error {
	var err error
	if c.guard != nil {
		err = c.guard.stop(sweepLimit + time.Second)
	}
	if c.tree != nil {
		if e := c.tree.close(); e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		return fmt.Errorf("containment: %w", err)
	}
	return nil
}
