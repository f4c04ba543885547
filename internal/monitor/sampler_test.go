package monitor

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/internal/testtool"
)

func TestSamplerReadsOwnProcess(t *testing.T) {
	s := NewSampler()
	pid := os.Getpid()
	u := s.Sample([]int{pid}, true)[pid]
	if u.RSS < 1<<20 {
		t.Fatalf("RSS %d: a Go test binary uses more than 1 MiB", u.RSS)
	}
	if !u.CPUMeasured || u.CPU != 0 {
		t.Fatalf("first sample: %+v, want CPU measured as 0", u)
	}
	// Burn CPU until the clock ticks of /proc move, then sample again.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		x := 0
		for i := 0; i < 1e7; i++ {
			x += i
		}
		_ = x
		if u = s.Sample([]int{pid}, true)[pid]; u.CPU > 0 {
			break
		}
	}
	if u.CPU <= 0 || u.CPU > 100*float64(16) {
		t.Fatalf("CPU %.1f%% after busy work", u.CPU)
	}
}

func TestSamplerForgetsGoneProcesses(t *testing.T) {
	cmd := exec.Command(testtool.Require(t, "sleep", "apt-get install coreutils"), "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	s := NewSampler()
	if _, ok := s.Sample([]int{pid}, false)[pid]; !ok {
		t.Fatal("a running child was not sampled")
	}
	cmd.Process.Kill()
	cmd.Wait()
	if u, ok := s.Sample([]int{pid}, false)[pid]; ok {
		t.Fatalf("a reaped child was sampled: %+v", u)
	}
	if len(s.procs) != 0 {
		t.Fatalf("%d handles kept for gone processes", len(s.procs))
	}
	s.Sample([]int{os.Getpid()}, false)
	s.Sample(nil, false)
	if len(s.procs) != 0 {
		t.Fatalf("handles of pids no longer asked for are kept: %d", len(s.procs))
	}
}

// BenchmarkSample is the agent's sampling cost per round for 32 and 256
// workers: RSS of each, CPU every round (the worst case). It allocates one
// map per round, nothing per process.
func BenchmarkSample(b *testing.B) {
	for _, n := range []int{32, 256} {
		b.Run(strconv.Itoa(n), func(b *testing.B) { benchmarkSample(b, n) })
	}
}

func benchmarkSample(b *testing.B, n int) {
	var pids []int
	for i := 0; i < n; i++ {
		cmd := exec.Command(testtool.Require(b, "sleep", "apt-get install coreutils"), "60")
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		pids = append(pids, cmd.Process.Pid)
		b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	for _, withCPU := range []bool{false, true} {
		name := "rss"
		if withCPU {
			name = "rss+cpu"
		}
		b.Run(name, func(b *testing.B) {
			s := NewSampler()
			s.Sample(pids, withCPU)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if got := s.Sample(pids, withCPU); len(got) != n {
					b.Fatalf("%d sampled", len(got))
				}
			}
		})
	}
}
