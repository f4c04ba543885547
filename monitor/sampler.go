package monitor

import (
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
// (the workers), keeping one gopsutil handle per pid between samples. It is
// not safe for concurrent use: one goroutine owns it.
type Sampler struct {
	procs map[int]*tracked
	now   func() time.Time
}

type tracked struct {
	p       *process.Process
	cpu     float64   // user+system seconds at the last CPU sample
	cpuAt   time.Time // when it was read; zero before the first
	created int64     // creation time (ms), to notice a reused pid
}

// NewSampler returns an empty Sampler.
func NewSampler() *Sampler {
	// Without the cache every CPU sample re-reads /proc/stat for the boot
	// time, which costs more than the sample itself.
	process.EnableBootTimeCache(true)
	return &Sampler{procs: map[int]*tracked{}, now: time.Now}
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
		mem, err := t.p.MemoryInfo()
		if err != nil {
			delete(s.procs, pid)
			continue
		}
		u := Usage{RSS: mem.RSS}
		if withCPU {
			u.CPU, u.CPUMeasured = s.cpuPercent(t)
		}
		out[pid] = u
	}
	for pid := range s.procs {
		if !keep[pid] {
			delete(s.procs, pid)
		}
	}
	return out
}

// track returns the handle of pid, opening it at its first sample.
func (s *Sampler) track(pid int) (*tracked, error) {
	if t, ok := s.procs[pid]; ok {
		return t, nil
	}
	p, err := process.NewProcess(int32(pid))
	if err != nil {
		return nil, err
	}
	created, _ := p.CreateTime()
	t := &tracked{p: p, created: created}
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
