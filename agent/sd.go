package agent

import (
	"strconv"

	"golang.org/x/sys/unix"
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
	st := s.status()
	if status := sdStatusOf(st); status != s.sdStatus {
		s.sdStatus = status
		s.sdNotify("STATUS=" + status)
	}
	if !s.sdReady && !st.Stopping && st.Reload == nil && st.Ready() == len(st.Slots) {
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
