package agent

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// cgroupSwitchEnv set to "off" makes the agent use the guardian's tag
// alone, even where cgroup v2 is writable.
const cgroupSwitchEnv = "NODE_AGENT_CGROUP"

// cgroupTree is this agent's cgroup v2 subtree:
//
//	<the agent's own cgroup>/node-agent.<service>/agent-<pid>-<token>/w<n>
//
// one child per worker, which the worker starts in (clone3
// CLONE_INTO_CGROUP, so nothing it forks can be outside), killed as a whole
// with cgroup.kill. The service level lets a new agent of the same service
// find and kill what an agent that died left behind.
type cgroupTree struct {
	dir string // agent-<pid>
	seq atomic.Uint64
}

// workerCgroup is the cgroup of one worker.
type workerCgroup struct {
	dir string
	fd  *os.File // the open directory, for SysProcAttr.CgroupFD
}

// openCgroupTree creates the subtree of this agent run (token tells runs
// of one process apart) for service, and kills and removes the subtrees of
// previous agents of service that are gone. It fails when cgroup v2 is not
// mounted, not writable, lacks cgroup.kill (Linux < 5.14), or is switched
// off.
func openCgroupTree(service, token string) (*cgroupTree, error) {
	if os.Getenv(cgroupSwitchEnv) == "off" {
		return nil, fmt.Errorf("switched off by %s=off", cgroupSwitchEnv)
	}
	mount, err := cgroup2Mount()
	if err != nil {
		return nil, err
	}
	own, err := ownCgroup()
	if err != nil {
		return nil, err
	}
	serviceDir := filepath.Join(mount, own, "node-agent."+strings.ReplaceAll(service, "/", "_"))
	if err := os.Mkdir(serviceDir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("cgroup v2 not writable: %w", err)
	}
	if _, err := os.Stat(filepath.Join(serviceDir, "cgroup.kill")); err != nil {
		return nil, fmt.Errorf("cgroup v2 without cgroup.kill (Linux < 5.14): %w", err)
	}
	if err := removeStale(serviceDir); err != nil {
		return nil, err
	}
	t := &cgroupTree{dir: filepath.Join(serviceDir, "agent-"+strconv.Itoa(os.Getpid())+"-"+token)}
	if err := os.Mkdir(t.dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("cgroup v2: %w", err)
	}
	return t, nil
}

// removeStale kills and removes the subtrees under serviceDir of agents
// that no longer run.
func removeStale(serviceDir string) error {
	ents, err := os.ReadDir(serviceDir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), "agent-")
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !e.IsDir() || !ok || err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); err == nil || err == syscall.EPERM {
			continue // that agent still runs
		}
		dir := filepath.Join(serviceDir, e.Name())
		if _, err := killCgroup(dir); err != nil {
			return fmt.Errorf("stale cgroup %s: %w", dir, err)
		}
		if err := removeCgroupTree(dir); err != nil {
			return fmt.Errorf("stale cgroup %s: %w", dir, err)
		}
	}
	return nil
}

// newWorker creates the cgroup of the next worker.
func (t *cgroupTree) newWorker() (*workerCgroup, error) {
	dir := filepath.Join(t.dir, "w"+strconv.FormatUint(t.seq.Add(1), 10))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	fd, err := os.Open(dir)
	if err != nil {
		os.Remove(dir)
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	return &workerCgroup{dir: dir, fd: fd}, nil
}

// close kills what is left in the subtree and removes it, and the service
// level too when no other agent of the service uses it.
func (t *cgroupTree) close() error {
	if _, err := killCgroup(t.dir); err != nil {
		return err
	}
	if err := removeCgroupTree(t.dir); err != nil {
		return err
	}
	syscall.Rmdir(filepath.Dir(t.dir)) // fails while another agent's subtree is there
	return nil
}

// started releases what the start needed; the cgroup stays.
func (c *workerCgroup) started() { c.fd.Close() }

// kill SIGKILLs every process in the worker's cgroup.
func (c *workerCgroup) kill() error {
	_, err := killCgroup(c.dir)
	return err
}

// remove kills what is left of the worker's cgroup and removes it.
func (c *workerCgroup) remove() error {
	if err := c.kill(); err != nil {
		return err
	}
	return removeCgroupTree(c.dir)
}

// killCgroup writes cgroup.kill of dir, which SIGKILLs every process of
// its subtree, and reports whether the subtree was populated. A dir that
// is gone is not populated.
func killCgroup(dir string) (bool, error) {
	populated, err := cgroupPopulated(dir)
	if err != nil || !populated {
		if errors.Is(err, os.ErrNotExist) {
			err = nil
		}
		return false, err
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		return true, err
	}
	return true, nil
}

// cgroupPopulated reads "populated" of dir's cgroup.events: whether any
// process is in its subtree.
func cgroupPopulated(dir string) (bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
	if err != nil {
		return false, err
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte("populated ")); ok {
			return string(v) == "1", nil
		}
	}
	return false, fmt.Errorf("%s/cgroup.events has no populated field", dir)
}

// removeCgroupTree removes dir and its child cgroups, deepest first, once
// their processes are gone: a killed process leaves its cgroup a moment
// after the kill, so it waits up to a second for the subtree to empty.
func removeCgroupTree(dir string) error {
	deadline := time.Now().Add(time.Second)
	for {
		populated, err := cgroupPopulated(dir)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !populated {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup %s still has processes", dir)
		}
		time.Sleep(5 * time.Millisecond) // the kernel is tearing them down
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := removeCgroupTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := syscall.Rmdir(dir); err != nil && err != syscall.ENOENT {
		return fmt.Errorf("cgroup %s: %w", dir, err)
	}
	return nil
}

// cgroup2Mount returns where the cgroup v2 hierarchy is mounted: on a
// unified host /sys/fs/cgroup, on a hybrid one usually
// /sys/fs/cgroup/unified.
func cgroup2Mount() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS...] - FSTYPE SOURCE SUPER
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, fs := strings.Fields(pre), strings.Fields(post)
		if ok && len(fields) >= 5 && len(fs) > 0 && fs[0] == "cgroup2" && fields[3] == "/" {
			return fields[4], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", errors.New("no cgroup v2 hierarchy mounted")
}

// ownCgroup returns this process's cgroup v2 path ("0::PATH").
func ownCgroup() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			return p, nil
		}
	}
	return "", errors.New("this process is in no cgroup v2")
}
