// Package notify carries the agent's events to the outside world: the
// service manager (systemd's sd_notify protocol) and, with a TARS platform,
// its NotifyF alarms. Every sender is a no-op where its target is absent.
//
// # systemd
//
// Under a unit with Type=notify, systemd sets NOTIFY_SOCKET; NewSystemd
// returns nil without it, so callers test for nil once:
//
//	if sd := notify.NewSystemd(); sd != nil {
//		sd.Notify("READY=1", "STATUS=4/4 workers ready")
//		if iv := sd.WatchdogInterval(); iv > 0 {
//			// send "WATCHDOG=1" every iv/2 from the loop that must stay alive
//		}
//	}
//
// The agent sends READY=1 once every worker is ready, STATUS= with the
// ready count and restarts, RELOADING=1 with MONOTONIC_USEC when a reload
// starts (READY=1 again when it is over), STOPPING=1 when the shutdown
// starts, and WATCHDOG=1 from its run loop when the watchdog is enabled for
// its pid. The workers never see NOTIFY_SOCKET or WATCHDOG_*: the agent
// removes them from their environment.
package notify
