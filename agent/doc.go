// Package agent is the supervisor: it runs the worker processes of one
// service, configured by a config.Config, until told to stop.
//
//	out, err := agent.OpenOutput(cfg)
//	...
//	code := agent.New(cfg, out).Run(ctx, signals) // the agent's exit code
//
// # Design
//
// One goroutine (Run) owns the worker table: slots (WORKER_IDs) holding at
// most one worker each. Everything else — process exits, channel messages,
// timers, signals — arrives as an event on one channel, so there are no
// locks around supervisor state. Policy (the exception window, the restart
// pacing) is pure functions of the table and a clock; the operating system
// is behind a seam (a start function and a clock) so the policy runs in
// tests with fake processes and a fake clock, and again with real ones.
//
// # Workers
//
// Each worker runs in its own process group with Pdeathsig=SIGKILL. All
// starts happen on one goroutine locked to its OS thread for the agent's
// lifetime, because the parent-death signal follows the forking thread, not
// the process. Workers linking package container also watch their channel:
// its end means the agent died. A worker's stdout lines are logged as INFO,
// stderr as ERROR, library records with their own level.
//
// A worker is "starting" until it says it is ready (first Accept or
// Ready); a plain binary — one that does not link the container module,
// as its Go build information tells — is ready when started.
//
// # Exits, exceptions, shutdown
//
// Any exit the agent did not ask for is an exception (SPEC §6). The window
// opens at the first exception and lasts --exception-time; reaching
// --exception-max within it stops every worker gracefully and Run returns
// 100. An --exception-max of 0 behaves like 1. The first restart of a slot
// is immediate, later ones at most one per 100 ms. When a worker exits, its
// process group is SIGKILLed, so nothing it forked survives it.
//
// SIGTERM or SIGINT stops all workers in parallel: the stop message for
// linked workers, SIGTERM to the process group of plain ones; after
// --graceful-shutdown the group is SIGKILLed. A second signal kills at once.
//
// # Keepalive
//
// Linked workers send a heartbeat every --keepalive-time/5. One timer of
// the run loop checks them at that interval; a ready linked worker silent
// for longer than --keepalive-time is a zombie: its process group is
// SIGKILLed and the exit counts as an exception. The check is skipped while
// MemAvailable is below 2 × vm.min_free_kbytes (logged once per episode).
// Starting and stopping workers and plain binaries are exempt; "off"
// disables heartbeats and checks.
//
// # Logs
//
// Output (output.go) holds the service log and the agent log (SPEC §9;
// package logs has the details). With -l DIR and name A.S they are
// DIR/A/S/A.S.log and DIR/A/S/A.S_agent.log, rotated by size; without, both
// go to stdout through a bounded buffer. Each worker's stdout and stderr
// pipes are read by one goroutine each (logs.Pump), which writes the lines
// of every read as one batch, synchronously to a file: a slow disk slows
// that worker down rather than losing its lines. Records of the worker
// library arrive over the channel. Output.SetLevel changes the service
// log's level (tars.setloglevel), Output.Reopen reopens the files (SIGUSR1,
// after an external logrotate). SIGPIPE does not kill the agent while
// the Output is open: a closed stdout makes writes fail and be counted.
//
// # Sockets
//
// The agent binds a listening socket the first time a worker asks for its
// address (normally --http-address) and hands the same socket to every
// worker that asks, over the channel. It keeps it until Run returns, so no
// connection is refused while workers restart.
//
// # systemd
//
// A recommended unit (sd_notify support arrives with the health issue):
//
//	[Service]
//	ExecStart=/usr/local/bin/node-agent /srv/gateway -i 4 --http-address 127.0.0.1:8080
//	ExecReload=/bin/kill -HUP $MAINPID
//	KillMode=mixed
//	TimeoutStopSec=15
//	Restart=on-failure
package agent
