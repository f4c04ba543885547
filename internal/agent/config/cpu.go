package config

import (
	"bufio"
	"bytes"
	"io/fs"
	"math"
	"path"
	"strconv"
	"strings"
)

// cpuHost is what instance counting reads; tests replace all of it.
type cpuHost struct {
	// root holds /proc and /sys; paths are relative ("proc/self/cgroup").
	root fs.FS
	// affinity returns the size of this process's CPU affinity set.
	affinity func() (int, error)
	// numCPU is the fallback count of logical CPUs.
	numCPU func() int
}

// usableCPUs is what -i auto means: the CPUs this process may use, the
// smaller of its affinity set and its cgroup CPU quota (rounded up). Always
// at least 1. Unreadable files count as "no limit".
func (h cpuHost) usableCPUs() int {
	n, err := h.affinity()
	if err != nil || n < 1 {
		n = h.onlineCPUs()
	}
	if q, ok := cgroupCPULimit(h.root); ok && q < n {
		n = q
	}
	return max(n, 1)
}

// onlineCPUs is what -i max means: the logical CPUs online
// (/sys/devices/system/cpu/online), else numCPU. Always at least 1.
func (h cpuHost) onlineCPUs() int {
	if data, err := fs.ReadFile(h.root, "sys/devices/system/cpu/online"); err == nil {
		if n, err := parseCPUList(string(data)); err == nil && n > 0 {
			return n
		}
	}
	return max(h.numCPU(), 1)
}

// parseCPUList counts the CPUs of a kernel CPU list like "0-3,6,8-9".
func parseCPUList(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n := 0
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return 0, err
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				return 0, err
			}
		}
		if a < 0 || b < a {
			return 0, strconv.ErrRange
		}
		n += b - a + 1
	}
	return n, nil
}

// cgroupCPULimit returns ceil(quota/period) of the tightest CPU quota on the
// path from this process's cgroups (/proc/self/cgroup) to the hierarchy
// root, for cgroup v2 (cpu.max under sys/fs/cgroup) and v1 (cpu.cfs_quota_us
// and cpu.cfs_period_us under sys/fs/cgroup/<controllers>); ok is false
// when no quota applies.
func cgroupCPULimit(root fs.FS) (limit int, ok bool) {
	data, err := fs.ReadFile(root, "proc/self/cgroup")
	if err != nil {
		return 0, false
	}
	best := math.MaxInt
	consider := func(q int, found bool) {
		if found && q < best {
			best = q
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		fields := strings.SplitN(sc.Text(), ":", 3)
		if len(fields) != 3 {
			continue
		}
		ctrls, cgPath := fields[1], fields[2]
		if fields[0] == "0" && ctrls == "" {
			consider(walkCgroup(root, "sys/fs/cgroup", cgPath, readCPUMax))
			continue
		}
		if !hasController(ctrls, "cpu") {
			continue
		}
		// v1 mounts the cpu controller as "cpu,cpuacct", or as "cpu".
		for _, mount := range []string{ctrls, "cpu,cpuacct", "cpu"} {
			consider(walkCgroup(root, path.Join("sys/fs/cgroup", mount), cgPath, readCFSQuota))
		}
	}
	if best == math.MaxInt {
		return 0, false
	}
	return best, true
}

func hasController(list, c string) bool {
	for _, x := range strings.Split(list, ",") {
		if x == c {
			return true
		}
	}
	return false
}

// walkCgroup applies read to mount/cgPath and every ancestor up to mount
// and returns the smallest limit found. Directories that do not exist are
// skipped, so a container seeing its own cgroup at the mount root while
// /proc/self/cgroup shows the host path still finds its quota.
func walkCgroup(root fs.FS, mount, cgPath string, read func(fs.FS, string) (int, bool)) (int, bool) {
	best, found := math.MaxInt, false
	p := path.Clean("/" + cgPath)
	for {
		if q, ok := read(root, path.Join(mount, p)); ok && q < best {
			best, found = q, true
		}
		if p == "/" {
			return best, found
		}
		p = path.Dir(p)
	}
}

// readCPUMax reads a cgroup v2 cpu.max: "max 100000" or "150000 100000".
func readCPUMax(root fs.FS, dir string) (int, bool) {
	data, err := fs.ReadFile(root, path.Join(dir, "cpu.max"))
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(data))
	if len(f) == 0 || f[0] == "max" {
		return 0, false
	}
	period := "100000"
	if len(f) > 1 {
		period = f[1]
	}
	return quotaCPUs(f[0], period)
}

// readCFSQuota reads cgroup v1 cpu.cfs_quota_us (-1 = none) and
// cpu.cfs_period_us.
func readCFSQuota(root fs.FS, dir string) (int, bool) {
	q, err := fs.ReadFile(root, path.Join(dir, "cpu.cfs_quota_us"))
	if err != nil {
		return 0, false
	}
	p, err := fs.ReadFile(root, path.Join(dir, "cpu.cfs_period_us"))
	if err != nil {
		return 0, false
	}
	return quotaCPUs(strings.TrimSpace(string(q)), strings.TrimSpace(string(p)))
}

// quotaCPUs returns ceil(quota/period); ok is false for no or bad limits.
func quotaCPUs(quota, period string) (int, bool) {
	q, err1 := strconv.ParseInt(quota, 10, 64)
	p, err2 := strconv.ParseInt(period, 10, 64)
	if err1 != nil || err2 != nil || q <= 0 || p <= 0 {
		return 0, false
	}
	n := (q + p - 1) / p
	if n > math.MaxInt32 {
		return 0, false
	}
	return max(int(n), 1), true
}
