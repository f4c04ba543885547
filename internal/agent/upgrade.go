package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/nodeagent/node-agent/internal/control"
)

// CmdUpgrade replaces the agent's program in place (see the package doc,
// "Upgrading the agent in place"): "agent.upgrade [PATH]", PATH an absolute
// path, by default the agent's own executable.
const CmdUpgrade = "agent.upgrade"

// ErrUpgradeRefused wraps every reason an upgrade did not happen; the old
// program keeps running everything.
var ErrUpgradeRefused = errors.New("upgrade refused")

// upgradeTimeout bounds each run of the new binary before the exec: its
// --version and its --handover-check.
const upgradeTimeout = 5 * time.Second

// upgrader is what the run loop holds for upgrades in place: the parts of
// the operating-system seam the hand-over needs (nil with a fake seam),
// the control socket, and the upgrade in progress.
type upgrader struct {
	reaper  *reaper
	starter *osStarter
	control *control.Listener // set by ServeControl
	// controlServer serves control; paused before a hand-over.
	controlServer *control.Server
	busy          bool // an upgrade is being checked or handed over
	// adopted is the hand-over this program started with, until Run
	// adopted it; nil for an agent started afresh.
	adopted *Handover
}

// upgradeRequest asks the run loop to upgrade the agent in place.
type upgradeRequest struct {
	path string // the new binary, absolute; "" = the agent's own executable
	// reply gets the outcome when the upgrade does not happen; nil for
	// SIGUSR2. On success nothing of this program is left to answer: the
	// new program answers client instead.
	reply  chan<- adminAnswer
	client *os.File // the requesting client's connection, or nil
	asked  time.Time
}

func (r upgradeRequest) refuse(err error) {
	if r.reply != nil {
		r.reply <- adminAnswer{err: err}
	}
	if r.client != nil {
		r.client.Close()
	}
}

// upgradeChecked carries the outcome of the checks of the new binary,
// run off the run loop.
type upgradeChecked struct {
	req     upgradeRequest
	version string // the new program's version
	err     error
	// doors are the agent's endpoints, paused once the checks passed.
	doors *pausedDoors
}

// Upgrade replaces the agent's program with the binary at path ("" = its
// own executable) without stopping a worker (see the package doc). When
// it returns, the upgrade did not happen and the error says why (wrapping
// ErrUpgradeRefused); when it happens this program is gone, and the new
// program answers the control client of ctx (control.ClientConn), if any.
func (s *Supervisor) Upgrade(ctx context.Context, path string) (string, error) {
	reply := make(chan adminAnswer, 1)
	req := upgradeRequest{path: path, reply: reply, asked: time.Now()}
	if uc, ok := control.ClientConn(ctx); ok {
		f, err := uc.File() // a duplicate: the server closes its own
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrUpgradeRefused, err)
		}
		req.client = f
		// The new program answers it: the pause before the hand-over
		// does not wait for it.
		control.Detach(ctx)
	}
	if err := s.send(ctx, req); err != nil {
		req.refuse(nil)
		return "", err
	}
	select {
	case a := <-reply:
		return a.text, a.err
	case <-s.quit:
		return "", ErrStopped
	}
}

// refused is an upgrade refused for the reason format says.
func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUpgradeRefused, fmt.Sprintf(format, args...))
}

// onUpgrade starts an upgrade: when the agent can hand over now, the new
// binary is checked off the run loop, and upgradeChecked goes on.
func (s *Supervisor) onUpgrade(req upgradeRequest) {
	if err := s.upgradable(); err != nil {
		s.log.warn("upgrade in place: %v", err)
		req.refuse(err)
		return
	}
	path, err := upgradeTarget(req.path)
	if err != nil {
		s.log.warn("upgrade in place: %v", err)
		req.refuse(err)
		return
	}
	req.path = path
	doc, err := s.snapshotForHandover(nil).encode()
	if err != nil {
		req.refuse(refused("%v", err))
		return
	}
	s.up.busy = true
	s.log.info("upgrade in place to %s: checking the new binary", path)
	r, doors := s.up.reaper, s.frontDoors()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*upgradeTimeout)
		defer cancel()
		ev := upgradeChecked{req: req}
		ev.version, ev.err = checkNewBinary(ctx, r, path, doc)
		if ev.err == nil {
			// The run loop goes on meanwhile: the requests in progress
			// may need it.
			ctx, cancel := context.WithTimeout(context.Background(), upgradeDrainTimeout)
			defer cancel()
			ev.doors, ev.err = doors.pause(ctx)
		}
		s.post(ev)
	}()
}

// upgradable says why the agent cannot hand over now, or nil.
func (s *Supervisor) upgradable() error {
	if err := inPlacePossible(runtime.GOOS, os.Getpid()); err != nil {
		return err
	}
	switch {
	case s.up.reaper == nil:
		return refused("the agent does not run real processes")
	case s.up.busy:
		return refused("an upgrade is already in progress")
	case s.stopping:
		return refused("the agent is stopping")
	case s.rollout.busy():
		return refused("a reload is in progress: upgrade once it is done (node-agent reload answers when it is)")
	case s.up.starter.contain == nil || s.up.starter.contain.guard == nil:
		return refused("no guardian runs, so the workers were started with a parent-death signal that the exec would fire")
	case len(s.table.old) > 0:
		return refused("%d old workers are still stopping", len(s.table.old))
	case s.gathers.pending():
		return refused("a command forwarded to the workers is waiting for their replies")
	}
	for _, sl := range s.table.slots {
		switch {
		case sl.next != nil:
			return refused("worker %d is being replaced", sl.id)
		case sl.w == nil:
			return refused("worker %d is restarting", sl.id)
		case sl.w.state != Ready:
			return refused("worker %d is %v: upgrade once every worker is ready", sl.id, sl.w.state)
		case !s.isOSProc(sl.w.p):
			return refused("worker %d is not a process the agent started", sl.id)
		}
	}
	return nil
}

// inPlacePossible says why an agent running on goos with pid can never
// upgrade in place, or nil. Never falls back to a restart: the reply says
// what to do instead.
//
//   - Not Linux: the hand-over rests on Linux only (memfd, the guardian's
//     cgroup and parent-death signals, SO_REUSEPORT steering, execve
//     keeping the children).
//   - PID 1 (a container's init): after the exec there is no way back. A
//     new program that fails would end PID 1, and the kernel then kills
//     every process of the PID namespace, the workers with it; the same
//     failure anywhere else leaves the guardian to stop the workers and the
//     service manager to start the agent again. A container changes its
//     agent with its image.
func inPlacePossible(goos string, pid int) error {
	switch {
	case goos != "linux":
		return refused("an upgrade in place needs Linux (this agent runs on %s): restart the agent to change its program", goos)
	case pid == 1:
		return refused("the agent is PID 1 (a container's init): if the new program failed after the exec, the container would stop with every worker; replace the container's image instead")
	}
	return nil
}

func (s *Supervisor) isOSProc(p proc) bool {
	_, ok := p.(*osProc)
	return ok
}

// upgradeTarget resolves the binary to upgrade to: path, or the agent's
// own executable as it is on disk now (a new file renamed over it).
func upgradeTarget(path string) (string, error) {
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", refused("cannot find the agent's executable: %v", err)
		}
		path = exe
	}
	if !filepath.IsAbs(path) {
		return "", refused("the new binary %q must be given as an absolute path", path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", refused("the new binary: %v", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		return "", refused("the new binary %s is not an executable file", path)
	}
	return path, nil
}

// onUpgradeChecked hands over to the checked binary, unless the check
// failed or the agent changed meanwhile.
func (s *Supervisor) onUpgradeChecked(ev upgradeChecked) {
	s.up.busy = false
	err := ev.err
	if err == nil {
		err = s.upgradable()
	}
	if err == nil {
		err = s.handOver(ev)
	}
	// Still here: the old program stays in charge.
	if rerr := ev.doors.resume(); rerr != nil {
		s.log.error("upgrade in place: serving the metrics again: %v", rerr)
	}
	s.log.error("upgrade in place to %s: %v; this program (%s) keeps running every worker", ev.req.path, err, s.version)
	s.alarm("", "[alarm] agent upgrade failed: "+err.Error())
	ev.req.refuse(err)
}

// describeUpgrade is the answer of a finished upgrade.
func describeUpgrade(name, from, to string, workers int, took time.Duration) string {
	return fmt.Sprintf("agent %s upgraded in place: %s → %s, pid %d unchanged, %d workers adopted (none restarted), hand-over %v",
		name, from, to, os.Getpid(), workers, took.Round(100*time.Microsecond))
}

// versionLine parses the first line of `node-agent --version`.
func versionLine(out string) (string, bool) {
	line, _, _ := strings.Cut(out, "\n")
	v, ok := strings.CutPrefix(strings.TrimSpace(line), "node-agent ")
	return v, ok && v != ""
}
