package agent

import (
	"fmt"
	"time"

	"github.com/nodeagent/node-agent/internal/monitor"
)

// Sampling periods of the workers' resource usage. With a memory limit the
// RSS is read every memorySampleInterval, so a worker over the limit is
// replaced within about a second; CPU (and RSS without a limit) every
// usageSampleInterval, for agent.status and metrics.
const (
	memorySampleInterval = time.Second
	usageSampleInterval  = 5 * time.Second
)

// startSampler starts the goroutine that samples the workers' usage off
// the run loop: the run loop asks through sample and gets a usageSampled
// event through post; a request after quit is dropped. stop ends it.
func startSampler(post func(event), quit <-chan struct{}) (sample func(sampleRequest), stop func()) {
	requests := make(chan sampleRequest)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sampler := monitor.NewSampler()
		defer sampler.Close()
		for req := range requests {
			got := sampler.Sample(req.pids, req.withCPU)
			u := make(map[int]usage, len(got))
			for pid, g := range got {
				u[pid] = usage{RSS: g.RSS, CPU: g.CPU, cpuMeasured: g.CPUMeasured}
			}
			post(usageSampled{u})
		}
	}()
	sample = func(req sampleRequest) {
		select {
		case requests <- req:
		case <-quit:
		}
	}
	return sample, func() {
		close(requests)
		<-done
	}
}

// sampleRequest asks for the usage of pids.
type sampleRequest struct {
	pids    []int
	withCPU bool
}

// samplePeriod is how often usage is sampled.
func (s *Supervisor) samplePeriod() time.Duration {
	if s.cfg.MaxMemoryRestart > 0 {
		return memorySampleInterval
	}
	return usageSampleInterval
}

// armSampling schedules the next sample. One sample is in flight at a
// time: the next is armed when the previous one arrived.
func (s *Supervisor) armSampling() {
	if s.sys.sample != nil && !s.stopping {
		s.sys.clock.AfterFunc(s.samplePeriod(), func() { s.post(sampleDue{}) })
	}
}

// requestSample asks the sampler for the usage of every worker.
func (s *Supervisor) requestSample() {
	var pids []int
	s.table.each(func(w *worker) { pids = append(pids, w.p.PID()) })
	now := s.sys.clock.Now()
	withCPU := now.Sub(s.cpuSampledAt) >= usageSampleInterval
	if withCPU {
		s.cpuSampledAt = now
	}
	s.sys.sample(sampleRequest{pids: pids, withCPU: withCPU})
}

// onUsage records a sample and restarts the workers over the memory limit.
func (s *Supervisor) onUsage(got map[int]usage) {
	s.table.each(func(w *worker) {
		u, ok := got[w.p.PID()]
		if !ok {
			return
		}
		if !u.cpuMeasured {
			u.CPU = w.usage.CPU
		}
		w.usage, w.sampled = u, true
		if s.table.slotOf(w) != nil {
			s.stats.ObserveUsage(w.slot, w.p.PID(), int64(u.RSS), u.CPU/100)
		}
	})
	if limit := s.cfg.MaxMemoryRestart; limit > 0 && !s.stopping {
		for _, sl := range s.table.slots {
			if w := sl.w; w != nil && w.sampled && w.usage.RSS > uint64(limit) && w.cause == causeNone && w.state != Stopping && sl.next == nil {
				s.memoryRestart(sl, w)
			}
		}
	}
}

// memoryRestart restarts a worker over --max-memory-restart gracefully: a
// linked worker is replaced first (no request is dropped on a shared
// socket), a plain one is stopped, then restarted. Its exit is an
// exception (decideExit).
func (s *Supervisor) memoryRestart(sl *slot, w *worker) {
	setCause(w, causeMemory)
	rss, limit := formatOver(w.usage.RSS, uint64(s.cfg.MaxMemoryRestart)), formatBytes(uint64(s.cfg.MaxMemoryRestart))
	s.log.error("worker %d (pid %d) uses %s of memory (RSS), over the limit of %s: restarting it", w.slot, w.p.PID(), rss, limit)
	s.alarm(pidOf(w), fmt.Sprintf("[alarm] worker memory %s over the limit of %s, restarting it", rss, limit))
	// A plain worker may not share its port: stopped first. So is one
	// whose exception will stop the agent: no replacement is worth it.
	if (!w.linked && !s.linked) || s.policy.atLimit(s.sys.clock.Now()) {
		s.stop(w, causeMemory)
		return
	}
	s.rollout.replace(sl, monitor.ReasonMemory, func(err error) {
		if err != nil && sl.w == w && w.state != Stopping && !s.stopping {
			s.stop(w, causeMemory) // no replacement: restart it in place
		}
	})
}

// formatBytes renders n with a binary unit: "70.2 MiB".
func formatBytes(n uint64) string { return formatBytesPrec(n, 1) }

// formatOver formats n, which is over limit, with as many decimals (up to
// three) as it takes not to print the same figure as the limit: 64.04 MiB
// over 64 MiB reads "64.04 MiB", not "64.0 MiB". Past three it gives the
// bytes.
func formatOver(n, limit uint64) string {
	for prec := 1; prec <= 3; prec++ {
		if got := formatBytesPrec(n, prec); n <= limit || got != formatBytesPrec(limit, prec) {
			return got
		}
	}
	return fmt.Sprintf("%d B", n)
}

// formatBytesPrec formats n in binary units with prec decimals.
func formatBytesPrec(n uint64, prec int) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.*f %ciB", prec, float64(n)/float64(div), "KMGTPE"[exp])
}
