package agent

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// sdNotify sends states to systemd; a no-op when not under systemd. A
// failure is logged: systemd will notice the missing message itself.
func (s *Supervisor) sdNotify(state ...string) {
	if s.sys.sd == nil {
		return
	}
	if err := s.sys.sd.Notify(state...); err != nil {
		s.log.warn("sd_notify %q: %v", state, err)
	}
}

// sdReporter is the reporting part for systemd: what the one Status
// snapshot says, as STATUS= whenever it changed and READY=1 once every
// slot's worker is ready (again after a reload).
type sdReporter struct {
	status string // the last STATUS= sent
	ready  bool   // READY=1 was sent since the start or the last reload
	// reload is the RELOADING=1 message of a reload that started, until
	// sent.
	reload string
}

// update returns the messages that tell systemd about st, if any.
func (r *sdReporter) update(st Status) []string {
	var msgs []string
	if r.reload != "" {
		msgs = append(msgs, r.reload)
		r.reload = ""
	}
	if status := sdStatusOf(st); status != r.status {
		r.status = status
		msgs = append(msgs, "STATUS="+status)
	}
	if !r.ready && !st.Stopping && st.Reload == nil && st.Ready() == len(st.Slots) {
		r.ready = true
		msgs = append(msgs, "READY=1")
	}
	return msgs
}

// reloading says a reload started: RELOADING=1 with MONOTONIC_USEC, now.
func (r *sdReporter) reloading() { r.reload = "RELOADING=1\n" + monotonicUsec() }

// reloaded asks for READY=1 again once every worker is ready.
func (r *sdReporter) reloaded() { r.ready = false }

// reportReadiness tells systemd the workers' state (reporting). Run calls
// it after every event.
func (s *Supervisor) reportReadiness() {
	if s.sys.sd == nil {
		return
	}
	for _, m := range s.report.sdMessages(s.status()) {
		s.sdNotify(m)
	}
}

// armWatchdog schedules the next WATCHDOG=1 at half the watchdog timeout.
// The ping is sent by the run loop itself, so a stuck loop stops pinging.
func (s *Supervisor) armWatchdog() {
	if s.sys.sd == nil {
		return
	}
	if iv := s.sys.sd.WatchdogInterval(); iv > 0 {
		s.sys.clock.AfterFunc(iv/2, func() { s.post(watchdogDue{}) })
	}
}

// monotonicUsec is the MONOTONIC_USEC= field that goes with RELOADING=1.
func monotonicUsec() string {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return "MONOTONIC_USEC=" + strconv.FormatInt(ts.Nano()/1000, 10)
}
