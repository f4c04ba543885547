package agent

import (
	"context"
	"errors"

	"github.com/nodeagent/node-agent/internal/notify"
)

// osEnv is everything the run loop asks of the operating system, as one
// struct of funcs (the tableflip env.go shape): newOSEnv builds the real
// one, the tests a fake of channels and a fake clock. The Supervisor
// holds it as its sys field, so the loop reads s.sys.clock, s.sys.start...
// and Run never asks whether it runs under test.
type osEnv struct {
	// clock is the source of time and timers.
	clock clock
	// start starts a worker process; the process's events go to post.
	start func(spec procSpec, post func(event)) (proc, error)
	// startMany, when set, starts several workers at once (startSlots).
	startMany func(specs []procSpec, post func(event)) ([]proc, []error)
	// memory reads the host's available memory (keepalive's low-memory
	// floor); nil: never low.
	memory memoryReader
	// sample asks for a usage sample of the workers, answered later as a
	// usageSampled event; nil: no sampling.
	sample func(sampleRequest)
	// sd speaks systemd's notify protocol; nil when not under systemd.
	sd systemd
	// linkedEntry tells whether an entry links the container library, so
	// its workers are expected to say hello and ready.
	linkedEntry func(path string) bool
	// rebuild builds a Go source entry (SIGHUP, agent.reload); nil for an
	// executable entry.
	rebuild func(context.Context) (string, error)
	// close stops what the env started, once Run is over. It may be nil.
	close func() error
}

// newOSEnv is the real operating system for s: the reaper, the starter
// threads, the workers' containment, the usage sampler, the --watch
// watcher, the Go builder, /proc/meminfo and systemd. Their events reach
// s's run loop. An error (a --watch that cannot start) is a usage error.
func newOSEnv(s *Supervisor) (osEnv, error) {
	r := newReaper(s.cfg.Subreaper, s.log, s.up.adopted.held()...)
	st := newOSStarter(r, s.workerOutput, s.workerRecord, s.workerStats)
	st.contain = s.containment(r)
	s.up.reaper, s.up.starter = r, st
	sample, stopSampler := startSampler(s.post, s.quit)
	env := osEnv{
		clock:       realClock{},
		start:       st.start,
		startMany:   st.startMany,
		memory:      procMemory(""),
		sample:      sample,
		linkedEntry: linksContainer,
		rebuild:     goBuilder(s.cfg, r),
	}
	if sd := notify.NewSystemd(); sd != nil {
		env.sd = sd
	}
	stopWatch := func() {}
	closeAll := func() error {
		stopWatch()
		stopSampler()
		err := st.contain.close()
		st.close()
		r.close()
		return err
	}
	if s.cfg.Watch {
		stop, err := startWatch(s.cfg, r, s.log, s.post)
		if err != nil {
			return osEnv{}, errors.Join(err, closeAll())
		}
		stopWatch = stop
	}
	env.close = closeAll
	return env, nil
}
