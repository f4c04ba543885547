// Package notify tells the outside world what the agent is doing: the TARS
// control node (tarsnode heartbeats and version), TARS alarms (tarsnotify)
// and, in its systemd files, the service manager. Every sender here is
// optional, runs in its own goroutine and never blocks the supervisor: when
// its target is absent or down, events are counted and dropped, and the
// failure is logged once per outage: a WARN record "<call> to <target>
// failed" with the error as err, then "<call> to <target> works again", on
// the *slog.Logger of the sender's config (Logger; nil discards).
//
// # tarsnode: keepAlive and reportVersion
//
// With --tars-node (or the config's <server>node), StartNodeReporter sends
// reportVersion(app, server, agent version) once and keepAlive({app,
// server, agent pid, adapter ""}) at once and then every 10 s
// (DefaultKeepAlivePeriod), as node-agent does. tarsnode kills and restarts
// a server that stays silent longer than its heart timeout (45 s in the
// shipped config), and adopts the pid it receives as the one it watches.
//
//	app, server := notify.SplitName(cfg.Name) // "App.Server"
//	r, err := notify.StartNodeReporter(notify.NodeConfig{
//		Node: cfg.TarsNode, App: app, Server: server,
//		Pid: os.Getpid(), Version: version, Logger: logger, // *slog.Logger; nil discards
//	})
//	…
//	r.Close() // at exit
//
// # tarsnotify: events and alarms
//
// With a TARS config (-c), NewAlarms sends NotifyF.reportNotifyInfo to the
// config's <server>notify (default tars.tarsnotify.NotifyObj, resolved
// through <client>locator): "restart" when the agent starts, "stop" when it
// stops, and "[alarm] …" when a worker exits unexpectedly, is killed as a
// zombie, is restarted for its memory, is killed after the graceful
// timeout, or when the exception limit stops the agent. Each message is a
// ReportInfo{eType REPORT, sApp, sServer, sSet, sMessage, sThreadId = the
// worker's pid or ""}, level NOTIFYERROR for alarms and NOTIFYNORMAL
// otherwise. Report never blocks; a bounded queue (DefaultAlarmQueue)
// drops and counts what does not fit; Close flushes with a deadline.
//
//	a, err := notify.NewAlarms(notify.AlarmConfig{Notify: cfg.Notify, Locator: cfg.Locator,
//		App: app, Server: server, NodeName: cfg.LocalIP, Logger: logger})
//	sup.Subscribe(func(ev agent.Event) { /* agent.Alarm → a.Report(ThreadID, Message) */ })
//	…
//	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
//	a.Close(ctx)                        // after the "stop" event
//	cancel()
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
// The TARS senders use tars.Client: one lazily dialled connection per endpoint, the
// reconnect backoff, and the locator cache live there.
package notify
