package monitor

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
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

// clockTicks is the unit of the CPU times in /proc/PID/stat: USER_HZ,
// which Linux fixes at 100 for every architecture in what it exports.
const clockTicks = 100

// Sampler samples the resident memory and CPU use of a set of processes
// (the workers). It keeps each process's /proc/PID/stat open between
// samples and reads RSS and CPU times from it with one pread(2) and no
// allocation: one pass over /proc per interval, whose cost grows linearly
// with the workers (see BenchmarkSample). An open stat file also cannot mix
// up processes: once its process is gone, reading it fails, even if the pid
// is reused. It is not safe for concurrent use: one goroutine owns it.
type Sampler struct {
	procs    map[int]*tracked
	now      func() time.Time
	buf      []byte
	pageSize uint64
	round    uint64 // increases at each Sample; tracked.round marks the pids asked for
}

type tracked struct {
	pid   int
	stat  *os.File
	round uint64
	ticks uint64    // user+system clock ticks at the last CPU sample
	cpuAt time.Time // when they were read; zero before the first
}

// NewSampler returns an empty Sampler.
func NewSampler() *Sampler {
	return &Sampler{procs: map[int]*tracked{}, now: time.Now, buf: make([]byte, 1024), pageSize: uint64(os.Getpagesize())}
}

// Sample reads the RSS of every pid in pids, and its CPU use when withCPU,
// and forgets the pids it sampled before that are not in pids. A pid that
// does not exist (it exited meanwhile) is left out of the result.
func (s *Sampler) Sample(pids []int, withCPU bool) map[int]Usage {
	s.round++
	out := make(map[int]Usage, len(pids))
	now := s.now()
	for _, pid := range pids {
		t, err := s.track(pid)
		if err != nil {
			continue
		}
		t.round = s.round
		rss, ticks, err := s.read(t)
		if err != nil {
			s.forget(pid)
			continue
		}
		u := Usage{RSS: rss}
		if withCPU {
			u.CPU, u.CPUMeasured = t.cpuPercent(ticks, now), true
		}
		out[pid] = u
	}
	for pid, t := range s.procs {
		if t.round != s.round {
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
		t.stat.Close()
		delete(s.procs, pid)
	}
}

// track returns the handle of pid, opening it at its first sample.
func (s *Sampler) track(pid int) (*tracked, error) {
	if t, ok := s.procs[pid]; ok {
		return t, nil
	}
	stat, err := os.Open("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	t := &tracked{pid: pid, stat: stat}
	s.procs[pid] = t
	return t, nil
}

// Fields of /proc/PID/stat, numbered as proc(5) numbers them.
const (
	statUtime = 14
	statStime = 15
	statRSS   = 24 // pages
)

var errStat = errors.New("malformed /proc/PID/stat")

// read returns the resident set size in bytes and the user+system CPU
// time in clock ticks of t's process.
func (s *Sampler) read(t *tracked) (rss, ticks uint64, err error) {
	n, err := t.stat.ReadAt(s.buf, 0)
	if n == 0 && err != nil {
		return 0, 0, err
	}
	line := s.buf[:n]
	// The command name (field 2) is in parentheses and may hold anything,
	// even ") ": the fields after it start after its last ')'.
	i := bytes.LastIndexByte(line, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("pid %d: %w", t.pid, errStat)
	}
	var utime, stime uint64
	field := 2
	for rest := line[i+1:]; len(rest) > 0 && field < statRSS; {
		rest = bytes.TrimLeft(rest, " ")
		end := bytes.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		field++
		var dst *uint64
		switch field {
		case statUtime:
			dst = &utime
		case statStime:
			dst = &stime
		case statRSS:
			dst = &rss
		}
		if dst != nil {
			v, ok := parseUint(rest[:end])
			if !ok {
				return 0, 0, fmt.Errorf("pid %d: field %d %q: %w", t.pid, field, rest[:end], errStat)
			}
			*dst = v
		}
		rest = rest[end:]
	}
	if field < statRSS {
		return 0, 0, fmt.Errorf("pid %d: %d fields: %w", t.pid, field, errStat)
	}
	return rss * s.pageSize, utime + stime, nil
}

// parseUint parses a decimal number without allocating.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// cpuPercent measures the CPU use since t's previous CPU sample, given its
// CPU time now, and keeps it for the next.
func (t *tracked) cpuPercent(ticks uint64, now time.Time) float64 {
	prevAt, prev := t.cpuAt, t.ticks
	t.cpuAt, t.ticks = now, ticks
	if prevAt.IsZero() {
		return 0
	}
	wall := now.Sub(prevAt).Seconds()
	if wall <= 0 || ticks < prev {
		return 0
	}
	return 100 * float64(ticks-prev) / clockTicks / wall
}
