package agent

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/nodeagent/node-agent/internal/plural"
)

// sdNotify sends states to systemd; a no-op when not under systemd. A
// failure is logged: systemd will notice the missing message itself.
func (s *Supervisor) sdNotify(state ...string) {
	if s.sd == nil {
		return
	}
	if err := s.sd.Notify(state...); err != nil {
		s.log.warn("sd_notify %q: %v", state, err)
	}
}

// reportReadiness tells systemd the workers' state: STATUS= whenever it
// changed, READY=1 once every slot's worker is ready (and again after a
// reload). Run calls it after every event.
func (s *Supervisor) reportReadiness() {
	if s.sd == nil {
		return
	}
	ready, restarts := 0, 0
	for _, sl := range s.slots {
		if sl.w != nil && sl.w.state == Ready {
			ready++
		}
	}
	for _, n := range s.restarts {
		restarts += n
	}
	status := fmt.Sprintf("%d/%s ready, %s", ready, plural.Workers(len(s.slots)), plural.Count(restarts, "restart", "restarts"))
	switch {
	case s.stopping:
		status = fmt.Sprintf("stopping, %s left", plural.Workers(s.alive()))
	case s.reload != nil:
		status = fmt.Sprintf("reloading: %d/%d replaced, %s", s.reload.replaced, len(s.reload.order), status)
	}
	if status != s.sdStatus {
		s.sdStatus = status
		s.sdNotify("STATUS=" + status)
	}
	if !s.sdReady && !s.stopping && s.reload == nil && ready == len(s.slots) {
		s.sdReady = true
		s.sdNotify("READY=1")
	}
}

// armWatchdog schedules the next WATCHDOG=1 at half the watchdog timeout.
// The ping is sent by the run loop itself, so a stuck loop stops pinging.
func (s *Supervisor) armWatchdog() {
	if s.sd == nil {
		return
	}
	if iv := s.sd.WatchdogInterval(); iv > 0 {
		s.clock.AfterFunc(iv/2, func() { s.post(watchdogDue{}) })
	}
}

// monotonicUsec is the MONOTONIC_USEC= field that goes with RELOADING=1.
func monotonicUsec() string {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return "MONOTONIC_USEC=" + strconv.FormatInt(ts.Nano()/1000, 10)
}
