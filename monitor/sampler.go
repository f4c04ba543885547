package monitor

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/shirou/gopsutil/v3/process"
)

// Usage is one resource sample of a process.
type Usage struct {
	// RSS is the resident set size in bytes.
	RSS uint64
	// CPU is the CPU time used since the previous sample of the same
	// process, in percent of one core (0 at its first sample).
	CPU float64
	// CPUMeasured is false when CPU was not measured in this sample.
	CPUMeasured bool
}

// Sampler samples the resident memory and CPU use of a set of processes
// (the workers), keeping per pid, between samples, a gopsutil process
// handle (CPU times) and an open /proc/PID/statm (RSS). It is not safe for
// concurrent use: one goroutine owns it.
//
// RSS is read with one pread(2) on the open statm: the open/read/close and
// parsing of gopsutil's MemoryInfo cost 6× more, and the agent reads the
// RSS of every worker every second with a memory limit (see
// BenchmarkSample32). An open statm also cannot mix up processes: once its
// process is gone, reading it fails, even if the pid is reused.
type Sampler struct {
	procs    map[int]*tracked
	now      func() time.Time
	buf      []byte
	pageSize uint64
}

type tracked struct {
	p     *process.Process
	statm *os.File
	cpu   float64   // user+system seconds at the last CPU sample
	cpuAt time.Time // when it was read; zero before the first
}

// NewSampler returns an empty Sampler.
func NewSampler() *Sampler {
	// Without the cache every CPU sample re-reads /proc/stat for the boot
	// time, which costs more than the sample itself.
	process.EnableBootTimeCache(true)
	return &Sampler{procs: map[int]*tracked{}, now: time.Now, buf: make([]byte, 256), pageSize: uint64(os.Getpagesize())}
}

// Sample reads the RSS of every pid in pids, and its CPU use when withCPU,
// and forgets the pids it sampled before that are not in pids. A pid that
// does not exist (it exited meanwhile) is left out of the result.
func (s *Sampler) Sample(pids []int, withCPU bool) map[int]Usage {
	out := make(map[int]Usage, len(pids))
	keep := make(map[int]bool, len(pids))
	for _, pid := range pids {
		keep[pid] = true
		t, err := s.track(pid)
		if err != nil {
			continue
		}
		rss, err := s.rss(t)
		if err != nil {
			s.forget(pid)
			continue
		}
		u := Usage{RSS: rss}
		if withCPU {
			u.CPU, u.CPUMeasured = s.cpuPercent(t)
		}
		out[pid] = u
	}
	for pid := range s.procs {
		if !keep[pid] {
			s.forget(pid)
		}
	}
	return out
}

// Close releases every handle.
func (s *Sampler) Close() {
	for pid := range s.procs {
		s.forget(pid)
	}
}

func (s *Sampler) forget(pid int) {
	if t, ok := s.procs[pid]; ok {
		t.statm.Close()
		delete(s.procs, pid)
	}
}

// rss reads the resident set size from the open statm: "size resident …"
// in pages.
func (s *Sampler) rss(t *tracked) (uint64, error) {
	n, err := t.statm.ReadAt(s.buf, 0)
	if n == 0 && err != nil {
		return 0, err
	}
	f := bytes.Fields(s.buf[:n])
	if len(f) < 2 {
		return 0, fmt.Errorf("statm of pid %d: %q", t.p.Pid, s.buf[:n])
	}
	pages, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("statm of pid %d: %w", t.p.Pid, err)
	}
	return pages * s.pageSize, nil
}

// track returns the handle of pid, opening it at its first sample.
func (s *Sampler) track(pid int) (*tracked, error) {
	if t, ok := s.procs[pid]; ok {
		return t, nil
	}
	statm, err := os.Open("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return nil, err
	}
	// Not process.NewProcess: it re-reads /proc to check what the open
	// statm already proves.
	t := &tracked{p: &process.Process{Pid: int32(pid)}, statm: statm}
	s.procs[pid] = t
	return t, nil
}

// cpuPercent measures the CPU use of t since its previous CPU sample.
func (s *Sampler) cpuPercent(t *tracked) (float64, bool) {
	times, err := t.p.Times()
	if err != nil {
		return 0, false
	}
	now, total := s.now(), times.User+times.System
	prevAt, prev := t.cpuAt, t.cpu
	t.cpuAt, t.cpu = now, total
	if prevAt.IsZero() {
		return 0, true
	}
	wall := now.Sub(prevAt).Seconds()
	if wall <= 0 || total < prev {
		return 0, true
	}
	return 100 * (total - prev) / wall, true
}
