// Package agent is the supervisor: it runs the worker processes of one
// service, configured by a config.Config, until told to stop.
//
//	if agent.GuardianMode() { // first in main: this binary re-executed as a guardian
//		os.Exit(agent.RunGuardian())
//	}
//	out, err := agent.OpenOutput(cfg)
//	...
//	sup, err := agent.New(cfg, out, agent.Options{Version: version})
//	if err != nil { … }                   // --watch, --tars-local, --metrics-address: exit 2
//	sup.Subscribe(func(ev agent.Event) { … }) // optional: typed events
//	code := sup.Run(ctx, signals)         // the agent's exit code
//
// New opens everything that can fail before a worker starts; Run starts
// the workers and, when it returns, closes what New opened.
//
// # Design
//
// One goroutine (Run, supervisor.go) owns all state. Its handle method
// routes each event to the part that owns what the event is about. The
// parts are named fields of the Supervisor, each a type in a file of its
// own, and a part never reaches into another's fields: it is handed what
// it needs (the table to read, a small interface back to the loop):
//
//   - the worker table (table, table.go; slot and worker in worker.go):
//     slots (WORKER_IDs) holding a worker each and, while one starts, its
//     replacement; and the old workers that left their slot and still run;
//   - the restart policy (restartPolicy, policy.go): whoever decides that a
//     worker must go writes its stopCause once (stopcause.go: shutdown,
//     reload, memory, keepalive, not ready in time, scale down, …; none is
//     a crash); at the worker's exit one pure function,
//     decideExit(cause, status, window, now), says whether it is an
//     exception, whether the limit is reached, whether and after what
//     pacing the slot restarts, and which alarm to raise. The policy owns
//     the exception window and counts nothing: its decisions are reported
//     as events (WorkerExited, WorkerStartFailed, SlotRestarted);
//   - the admin gathers (gathers, gather.go): forwarded commands waiting
//     for the workers' answers;
//   - the rollout (rollout, rollout.go): one slot's replacement (a memory
//     restart, a reload step), the rolling reload and agent.scale, one
//     type; it asks the run loop for starts, stops and events through the
//     rolloutLoop interface;
//   - reporting (reporting, report.go; Status in status.go, systemd in
//     sd.go): the lifecycle counters — exceptions, restarts by slot and
//     reason, reloads — are fed by the typed events only (reporting is a
//     subscriber), and one Status snapshot is made of them and the table:
//     agent.status, /metrics and systemd's STATUS= are all made from it,
//     so they agree;
//   - the event hook (hook, eventhook.go): the subscribers of the typed
//     events, in order;
//   - the operating system (osEnv, osenv.go, the sys field): one struct of
//     funcs — clock and timers, process starts, memory reader, usage
//     sampler, sd_notify, the linked check, the Go builder — built by
//     newOSEnv, replaced by a fake in tests. Run never asks whether it runs
//     under test.
//
// Everything else — process exits, channel messages, timers, signals —
// arrives as an event on one channel, so there are no locks around
// supervisor state, and the policy runs in tests with fake processes and a
// fake clock, and again with real ones.
//
// # Events
//
// Lifecycle facts are typed values (eventhook.go): WorkerStarted,
// WorkerReady, WorkerExited{Slot, PID, Status, Cause, Exception,
// Exceptions, Limit, Restarting}, WorkerStartFailed, WorkerKilled (ready
// deadline, graceful timeout), WorkerReplaced, SlotRestarted, Scaled,
// ReloadStarted, ReloadDone, ShutdownBegan, ExceptionLimit and Alarm. The
// run loop hands each, in order, to every subscriber (Subscribe, the
// suture EventHook shape): the agent log writes its String at its Level
// (SlotRestarted at DEBUG), reporting counts them for agent.status,
// /metrics and STATUS=, the TARS alarms report the Alarm events, and tests
// assert on the values. Below main everything logs through log/slog: the
// agent hands its *slog.Logger to the TARS AdminF server and to the
// tarsnode and alarm senders.
//
// # Workers
//
// Each worker runs in its own process group. It gets Pdeathsig=SIGKILL
// only when no guardian runs (see "Upgrading the agent in place"): the
// guardian kills it when the agent dies. Starts happen on goroutines
// locked to their OS threads for the agent's lifetime, because the
// parent-death signal follows the forking thread, not the process. Workers linking package container also watch their channel:
// its end means the agent died. A worker's stdout lines are logged as INFO,
// stderr as ERROR, library records with their own level.
//
// # Nothing escapes
//
// Pdeathsig and the process group reach a worker and what stays in its
// group, but not a descendant that called setsid or double-forked. So:
//
//   - Every worker gets NODE_AGENT_TAG=TOKEN.N in its environment (TOKEN
//     of this agent run, N of this worker); its descendants inherit it.
//   - Where cgroup v2 is writable (root, or a delegated subtree), each
//     worker starts directly in its own cgroup (clone3
//     CLONE_INTO_CGROUP), <the agent's cgroup>/node-agent.<name>/
//     agent-<pid>-<token>/w<N>, so nothing it forks is ever outside it. At
//     start the agent kills and removes the subtrees of agents of the same
//     service that no longer run. NODE_AGENT_CGROUP=off switches cgroups
//     off.
//   - When a worker exits, its cgroup is killed with cgroup.kill and
//     removed — without cgroups, every process with its tag is SIGKILLed —
//     as its process group is.
//   - A guardian, the agent's own binary re-executed (with
//     NODE_AGENT_GUARDIAN set: the binary's main — and the TestMain of a
//     test binary that runs agents — checks GuardianMode first and exits
//     with RunGuardian's code), holds
//     the read end of a pipe only the agent writes. However the agent ends,
//     even by SIGKILL, the kernel closes the pipe; the guardian then
//     SIGKILLs every process whose /proc/PID/environ carries the agent's
//     token and kills the agent's cgroup subtree, until none is left
//     (giving up after 5 s), and removes the subtree. It ignores SIGINT,
//     SIGTERM and SIGHUP and runs in its own process group.
//
// Measured here: both escapers gone 30-850 ms after kill -9 of the agent,
// most of it the kernel tearing down the killed agent before its pipe
// closes.
//
// Limits: without cgroups, a descendant that drops the variable from its
// environment (env -i, a login shell, sudo) or that the guardian may not
// read (another user, when the agent is not root) escapes the tag; with
// cgroups, only a process privileged enough to move itself to another
// cgroup escapes. A guardian killed together with the agent (kill -9 of
// both, an OOM kill of the whole cgroup) cannot sweep: a stale cgroup is
// then cleaned by the next agent of the service, tagged processes are
// not. A stale subtree whose agent pid was reused by a live process is
// kept.
//
// # Starts
//
// A worker is "starting" until it says it is ready (first Accept or
// Ready); a plain binary — one whose executable does not contain the
// worker library's container.OpenWith — is ready when started. That look
// at the executable only sets the expectation; what a worker is, is
// decided by its hello: only a worker that said hello gets the stop
// message, forwarded commands and keepalive.
//
// Every start has a deadline, --ready-timeout (the go-plugin handshake
// shape): a start ends ready, or with one of three typed outcomes —
// could not be started, exited before it was ready, not ready in time. A
// first start or crash restart still starting at the deadline is SIGKILLed
// with its process group, raises an alarm and counts as an exception; its
// slot restarts with the crash pacing. A start that fails is an event the
// run loop handles after the current one (an exception, paced), never a
// recursion. For a replacement see below.
//
// # Exits, exceptions, shutdown
//
// Any exit the agent did not ask for is an exception (SPEC §6), and so is
// the exit of a worker the agent killed because it failed: not ready in
// time, no heartbeat, over the memory limit. It is counted when the
// worker exits (decideExit); a kill of that kind that the agent decides
// while stopping is not counted. The window
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
// SIGKILLed and an alarm is raised; its exit counts as an exception and
// its slot restarts. The check is skipped while MemAvailable is below
// 2 × vm.min_free_kbytes (logged once per episode). Starting and stopping
// workers and plain binaries are exempt; "off" disables heartbeats and
// checks.
//
// # Memory
//
// The workers' RSS and CPU are sampled off the run loop by one goroutine
// (monitor.Sampler, one open /proc/PID/stat per worker, read with one pread):
// RSS every second with --max-memory-restart, every 5 s without; CPU every
// 5 s. A worker over the limit is restarted gracefully and its exit counts
// as an exception: a linked worker (or any worker of a linked entry) is
// replaced first — the replacement starts in the same slot, and only once
// it is ready is the old one asked to stop, so the shared socket always has
// a worker accepting — while a plain binary, which may own its port, is
// stopped first and then restarted; so is any worker whose exception will
// reach the exception limit (no replacement is started for an agent about
// to stop). Workers get GOMEMLIMIT at 90 % of the
// limit unless the environment or --env sets one.
//
// # Replacement, reload, scaling
//
// A slot may hold, besides its worker, a replacement that is starting.
// When the replacement is ready it takes the slot and the old worker is
// stopped gracefully (it drains, then exits); when it exits first, or is
// not ready within --ready-timeout, it is killed and the old worker keeps
// serving. A rolling reload (SIGHUP, agent.reload) replaces the slots one
// at a time and stops at the first failure, which it reports; a second
// reload request while one runs is answered "reload in progress". Failed
// replacements are not exceptions: a broken build never brings the service
// down. agent.scale N adds slots or stops the highest ones.
//
// # Admin commands
//
// Notify runs the SPEC §10 commands from any goroutine (the AdminF server,
// tests): tars.viewversion, tars.setloglevel (the agent's log and every
// worker), preheatCheck (success iff every slot's worker is ready),
// agent.status (the Status snapshot as JSON), agent.reload, agent.scale,
// tars.gracerestart (the rolling reload, answered "restart gracefully!"
// as TarsGo answers it, or "restart failed: …" as an error).
// The TARS commands of TarsGo and TarsCpp servers are answered for the
// whole service in their words (admin_tars.go): tars.help, tars.closecore
// yes|no (RLIMIT_CORE of the agent, so of future workers, and, with
// prlimit, of the running ones), tars.dumpstack (each worker's goroutines
// to NAME_stackinfo.log), tars.pprof [PORT [SECONDS [WORKER]]] (loopback
// only); a command no worker handles is "<command> not support now!"
// (ErrUnknownCommand). Under a TARS config the AdminF server reports each
// command to tarsnotify as "AdminServant::notify:<command>".
// Any other command is forwarded to every worker that is not stopping and
// the reply lists each worker's answer, "WORKER_ID(pid): answer", gathered
// until the caller's deadline minus a margin (a tenth of the time left, at
// least 250 ms; at most 3 s), so a slow worker yields a partial reply
// rather than a timeout; missing, plain or exited workers say so.
//
// Failures are errors, never success text: Notify returns an error of a
// kind tested with errors.Is (ErrBadArgument, ErrStopping,
// ErrReloadInProgress, ErrReloadFailed, ErrUnknownCommand; ErrWorkers when
// a worker answered an error — wire.Reply.Error — or did not answer, its
// text then being the whole per-worker reply). The AdminF server sends an
// error as ServerUnknownErr with its text, so `node-agent ctl` exits 1 —
// except ErrUnknownCommand, which it answers as TarsGo does, the text
// "<command> not support now!" with return 0: the admin registry counts a
// non-zero return as a failed task. ctl exits 1 on those words over AdminF;
// the control socket answers the typed error.
// preheatCheck answers "not ready" as a reply, as the TARS platform
// expects; ctl alone turns it into exit 1.
//
// ServeControl serves the same commands on the local control socket
// (SPEC §15, package internal/control), which the operator commands use
// (ls, status, reload, scale, stop, logs, monit): commands go to Notify,
// shutdown to Shutdown, and log requests get the agent's last records and
// then the live ones (a slow reader misses batches; the logs never wait).
// The caller takes the socket's lock (control.Listen) before OpenOutput,
// so that a second agent of the same name never opens the log files:
//
//	ln, err := control.Listen(control.Dir(), cfg.Name) // *control.InUseError: exit 2
//	out, err := agent.OpenOutput(cfg)
//	sup, err := agent.New(cfg, out, agent.Options{Version: version})
//	defer sup.ServeControl(ln)()
//
// SIGHUP on a Go source entry builds the sources first (through the
// reaper) and reloads onto the new build; a failed build is logged and
// the workers keep running.
//
// # Children and reaping
//
// One reaper waits for every child, on SIGCHLD (no thread is blocked per
// worker). With --subreaper (on by default) the agent becomes a child
// subreaper, and as PID 1 it is init: orphans of the workers' process trees
// reparent to it, and the reaper then waits for any pid, reaping them (and
// logging it) without ever taking one for a worker — a worker is registered
// under the lock the reaper holds while reaping. Every child the agent
// starts goes through the reaper; nothing else calls wait. As PID 1 the
// agent also handles SIGQUIT (stop at once), which the kernel would
// otherwise drop.
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
// # TARS, metrics, --watch
//
// New starts the links to the outside that cfg asks for: the AdminF
// server on --tars-local (tars.NewAdminServer over Notify and Shutdown),
// the tarsnode reporter (--tars-node), NotifyF alarms with a TARS config
// (subscribed to the Alarm events), the Prometheus endpoint (--metrics-address, answered
// from the run loop's snapshot, so /healthz fails when the loop is stuck)
// and the StatF/PropertyF reporter. Workers send their statistics in
// batches (container.MonitorHTTP, properties, runtime samples) that the run
// loop hands to a monitor.Aggregator. With --watch, package agent/watch
// reports a replaced entry (a rolling reload), an edited Go source entry
// (rebuilt through the reaper, then reloaded; a failed build only logs)
// and a changed config file (tars.loadconfig to every worker).
//
// As a TarsGo server does on the TARS platform (shared/research/
// tars-platform.md): with enableset=y the set division goes into NotifyF
// (sSet), StatF (slaveName "App.Server.<set>", slaveSet fields) and
// PropertyF (moduleName, set fields), and bare servant names are looked up
// with findObjectByIdInSameSet; locator calls carry the node_name context.
// "stop" goes to tarsnotify when the shutdown is over. With <server>config
// (the ConfigObj), "tars.loadconfig FILE" fetches FILE from the config
// center (ConfigF.loadConfigByInfo, with app, server, file and set), writes
// it atomically into <server>basepath (else the TARS config's directory),
// answers TarsGo's "Getconfig Success!: FILE" and announces the path to the
// workers ("tars.loadconfig PATH", container.Worker.OnConfig). tarsnode
// never downloads a TARS-type server's files: the service pulls those it
// reads, as a TarsGo service does with its RConf. So a worker asks the
// agent (container.Worker.AddConfig, wire.KindAddConfig), which pulls the
// file the same way, off the run loop, and answers its path, or why not
// (wire.ConfigNoCenter without a ConfigObj: the worker reads its local
// file). Workers get TARS_BASEPATH and TARS_DATAPATH. A path (as --watch
// sends) is announced as it is. Under a TARS config the workers run in
// <server>logpath (Config.WorkerDir; the agent makes it), where tarsnode
// starts a tars_go server (NodeServer CommandStart.cpp, "so that core
// files are found"), not in the entry's directory: a service keeps its
// files under $TARS_BASEPATH and $TARS_DATAPATH, as the gateway does. tars.viewversion answers the agent's version and,
// with a deploy manifest, the service's: "0.4.0 (service 1.2.3)";
// reportVersion sends the agent's alone, because tarsnode stores it as the
// framework ("TARS") version, where a TarsGo server sends its own release.
// A TarsGo server (a binary built with github.com/TarsCloud/TarsGo) is
// refused as the worker under a TARS config — Open's usage error, exit 2:
// it would register with tarsnode, serve AdminF on <server>local and bind
// the not_tars port itself, in every worker. Deploy such a service as a
// tars_go server directly, or serve it with package container.
//
// # Sockets
//
// The agent binds a listening socket the first time a worker asks for its
// address (normally --http-address; Listen in package container) and
// passes it to the worker over the channel. Without --http-address, a
// worker's Listen for "" gets container.ErrNoAddress and the worker asks for
// its own default address, which the agent binds and passes the same way. It keeps every socket until
// Run returns (a scaled-away slot's until its worker is gone), so no
// connection is refused while workers restart. It binds them with raw
// system calls and never accepts on them: they stay out of its poller, so
// a connection never wakes the agent, and nothing in the agent changes
// their non-blocking mode, which the workers' copies share.
//
// For a TCP address, each slot (WORKER_ID) has its own socket, and all of
// them are bound to the address with SO_REUSEPORT: the kernel puts each new
// connection in the accept queue of one socket, so it wakes one worker,
// where a socket shared by N workers wakes all N (Go's poller does not use
// EPOLLEXCLUSIVE) for one to accept. Which socket is chosen by a BPF
// program of type SK_REUSEPORT that the agent attaches to the group
// (listen_steer.go): it spreads connections by their 4-tuple hash over
// the active slots, a list the agent rewrites after every event of its run
// loop. Which ready slots are active is --steering:
//
//   - pack (the default): the fewest that keep up, the first in slot
//     order (listen_pack.go). Spreading a light load over many workers
//     wakes a sleeping process for nearly every connection, which costs
//     more than a running one (1.6× the CPU per request at 128 workers
//     as at 4, BENCHMARKS.md); like EPOLLEXCLUSIVE's wake-ups or nginx's
//     accept_mutex, packing keeps the load on few, awake workers. At each
//     look at the accept queues (every second, below) the set doubles
//     when its workers are busy — every active slot with connections
//     waiting at this look and the one before (one slot behind alone is
//     the stall check's business), or their CPU averaging half a core
//     each or more — and halves after 10 quiet looks in a row (fewer than
//     half of them behind, and a CPU use half of them would carry at
//     under a quarter of a core each). It never shrinks below one slot per CPU the agent
//     may use (GOMAXPROCS: affinity and cgroup quota, what -i auto
//     counts), and 2: so it never leaves a core idle that spreading would
//     use, even with single-threaded workers, and one paused worker holds
//     at most half of the new connections. With -i auto, then, every
//     worker is active and pack is spread. Under saturation the set
//     reaches every ready slot within a few seconds, and connections are
//     spread over all of them. Connections already accepted stay where
//     they are: long-lived keep-alive connections opened in one burst at
//     light load stay on the active workers (use spread for such clients).
//   - spread: every ready slot, at any load.
//
// Either way, only ready slots are active, hence:
//
//   - Rolling reload: the replacement gets its slot's socket, the same one
//     the old worker accepts on, so the slot keeps serving throughout and
//     what is queued there goes to whichever of the two accepts first.
//   - Crash: the slot stops receiving new connections as soon as the agent
//     sees the exit (packing: the next ready slot takes its place in the
//     active set); the connections already queued on its socket wait
//     there for the replacement, which inherits the socket (so a
//     connection queued for a worker that dies is delayed, never reset).
//   - Stall: a worker that stops accepting without exiting (stopped,
//     starved, stuck) is noticed from its socket's accept queue, which the
//     agent reads every second (TCP_INFO of the listener, no wakeup per
//     connection): not empty and not shrinking at 3 looks in a row while
//     another active slot's queue is empty, the slot is steered around (a warning
//     in the log) until its queue is empty again — its worker resumed, or
//     the keepalive check replaced it. When every slot's queue grows, the
//     service is overloaded rather than one worker stuck, and all keep
//     their share.
//   - Scale down: the slot is taken out of the list first, then the agent
//     closes its copy; when the leaving worker has drained and closed its
//     own, the kernel hands every connection still queued on the socket,
//     and every handshake in progress, to the program again, which moves
//     them to a serving socket (BPF_SK_REUSEPORT_SELECT_OR_MIGRATE; the
//     net.ipv4.tcp_migrate_req sysctl need not be set). Nothing queued is
//     reset, even if the worker was stopped or killed.
//   - Scale up: a new slot gets a new socket of the group and its share of
//     the connections once its worker is ready (packing: once the active
//     set grows to it).
//   - Start: until some worker is ready, the kernel spreads connections by
//     hash over the sockets bound so far; each waits for its worker.
//
// Requirements: Linux 5.14 or later (SELECT_OR_MIGRATE) and the right to
// load the program and create its maps (root, or CAP_BPF and
// CAP_NET_ADMIN). Where the agent lacks either it logs one warning saying
// why and falls back to one socket per address shared by every worker, as
// before: same promises (nothing refused or lost across reloads, crashes,
// scaling), but every connection wakes every worker. Unix socket addresses
// always use one shared socket. SO_REUSEPORT groups are per user and
// network namespace: another process of the same user could bind the same
// address with SO_REUSEPORT too, so the agent first binds the address
// without it, and fails as net.Listen would if anything holds it.
//
// A plain binary never asks: it binds its own port, as before.
//
// # Upgrading the agent in place
//
// `node-agent upgrade [NAME] [--binary PATH]`, `node-agent ctl agent.upgrade
// [PATH]` (the control socket's agent.upgrade) or SIGUSR2 replace the
// agent's own program without touching a worker: same pid (tarsnode,
// systemd's MAINPID and pid files see nothing change), same workers, same
// sockets, no failed request. PATH defaults to the agent's executable as
// it is on disk now (a new build renamed over it); for a deploy tarball,
// unpack it beside the old one and name its agent:
//
//	tar -xzf gateway-2.tgz -C /srv/new  # gateway/gateway/gateway is its node-agent
//	node-agent upgrade gateway --binary /srv/new/gateway/gateway/gateway
//	node-agent reload gateway           # then the workers
//
// A packaged agent runs the service beside its own binary, so after the
// upgrade the workers started from then on (restarts, the reload) run the
// new tarball's service; the adopted ones run the old one until replaced.
//
// The answer comes from the new program once it adopted every worker:
// "agent gateway upgraded in place: 1.4.0 → 1.5.0, pid 4242 unchanged, 4
// workers adopted (none restarted), hand-over 150ms". (Over TARS AdminF,
// `ctl --local EP agent.upgrade`, a refusal is answered but success shows
// as the connection closing at the exec: check with tars.viewversion.)
// Measured on a 2-core host at load average 35-100 (BENCHMARKS.md, before
// the endpoints' pause, which adds the time their requests in flight
// take): a
// median of 350 ms with 4 workers and 700 ms with 32 from the freeze to
// the adoption, most of it the new program's start; the workers serve
// throughout (they accept on their own sockets): 0 failed requests.
//
// How: execve keeps the pid, the children and every descriptor that is not
// close-on-exec. The old program
//
//  1. refuses at once, saying why, when it cannot hand over: not Linux,
//     PID 1 (a container's init: a new program failing after the exec
//     would stop the container; replace the image instead), no guardian
//     (see below), another upgrade in progress, a reload in progress or
//     being built, the agent stopping, a worker not ready (starting,
//     restarting, being replaced, old ones stopping) or a command forwarded
//     to the workers still waiting for replies;
//  2. checks the new binary off the run loop, each step bounded by 5 s: an
//     ELF executable for this machine; `PATH --version` answers
//     "node-agent V"; `PATH --handover-check` reads a preview of the
//     hand-over document on its stdin — its protocol version, and the
//     agent's options as the new version reads them — and answers "ok". A
//     binary that exits, hangs or speaks another protocol is refused here,
//     with an error reply and an alarm, and the old program runs on;
//  3. pauses its own endpoints, still off the run loop (which answers what
//     the requests in progress ask of it), each bounded by 5 s: the
//     metrics, AdminF and control listeners stop accepting but stay open,
//     so a client connecting from now on waits in the backlog for the new
//     program; the requests in flight on them are answered. Then the
//     metrics endpoint closes its idle keep-alive connections between two
//     requests, where HTTP clients retry (Go's net/http, Prometheus);
//     AdminF connections stop being read between two requests and are
//     handed over as they are, with the bytes read of the next request: a
//     TARS client cannot know that a request it wrote on a closing
//     connection was not read. The control socket serves one request per
//     connection; a `logs -f` stream is not waited for and ends at the
//     exec. A request still unanswered after 5 s is cut at the exec (and
//     logged); a failure to pause, or any later one, serves them all again;
//  4. freezes: it stops reaping (a worker exiting now stays a zombie for
//     the new program), stops each worker's channel reader and output
//     pumps at the byte they reached (read deadlines), handles the frames
//     already read, holds the TARS reporter (a report on its way is sent
//     first; none starts after), flushes the logs;
//  5. writes the hand-over document (JSON, protocol "2") into a memfd:
//     every descriptor by number — the listening sockets of each address
//     (per-slot SO_REUSEPORT groups with their BPF steering program and
//     maps, or the shared socket), each worker's channel with the bytes
//     and descriptors read past its last whole frame, its stdout and
//     stderr pipes, the guardian's pipe, the control socket and its flock,
//     the AdminF and metrics listeners and the AdminF connections, the
//     requesting client's connection — and the run loop's state: each
//     slot's worker (pid, linked, start time, last heartbeat, tag and
//     cgroup) and restart counts, the restart counters, the exception
//     count and window, the log level, the start time; and the workers'
//     statistics (monitor.Carried): the totals behind the metrics'
//     counters, the TARS report interval in progress with its opening and
//     the reporter's call counts, the Go runtime's counters;
//  6. clears close-on-exec on exactly those descriptors, under the fork
//     lock so no worker started meanwhile could inherit one, and execs the
//     new binary with its own command line and NODE_AGENT_HANDOVER_FD. If
//     the exec fails, everything is thawed and the old program goes on.
//
// The new program reads the document before anything else, re-parses the
// same options, opens the log files again by name (appending, as SIGUSR1
// does), adopts the control socket (the lock stays held: same open
// file description), the sockets and steerers (the kernel never stopped
// steering), the guardian and containment, and every worker: it registers
// their pids with its reaper before its first reap, so an exit during the
// hand-over is seen (the agent waits by pid and holds no pidfd, so there
// is none to pass), resumes each channel where the old program stopped
// and pumps the pipes on. Log lines written during the hand-over wait in
// the pipes: none is lost or written twice (a line longer than 64 KiB
// being read at the freeze is the exception: it is split in two records).
// The admin (--tars-local) and metrics (--metrics-address) listeners are
// handed over too, and the AdminF connections, served on where the old
// program stopped: no call to the agent's endpoints fails across an
// upgrade (measured: 0 of ~3,000 calls across three upgrades, keep-alive
// scrapes, one AdminF connection and control calls in loops). The
// statistics go on: no counter of /metrics goes down (the Go runtime's,
// go_*, are the old program's plus the new runtime's; process_* are the
// process's own, which the exec does not restart), and the TARS interval
// in progress at the exec is reported once, by the new program, when it
// ends (its opening is carried, so the report cadence holds). Sampling,
// keepalive and watchdog timers start again. A signal that arrived during the
// freeze is lost, and one arriving between the exec and the new program's
// signal setup (a few milliseconds) has its default effect: SIGTERM,
// SIGHUP, SIGUSR1 or SIGUSR2 then end the agent, and the guardian stops
// the workers.
//
// The document is versioned. A field a reader may ignore without harm is
// added within a version (JSON readers skip unknown fields): the
// statistics would only start again. A field naming descriptors is not:
// a reader ignoring it would leave them open, inherited by every worker
// it starts, their peers unanswered. So protocol 2 (the AdminF
// connections) is a new version; a program reads its own and protocol 1,
// and a protocol-1 program's check refuses a protocol-2 document (a
// downgrade to it is refused, saying so; the old program runs on).
//
// The commit point is the exec. Before it, any failure leaves the old
// program in charge. After it there is no old program to go back to: if
// the new program cannot read the document (which its check just read),
// crashes or is killed, the agent process is gone as after any crash — the
// guardian sees its pipe close and kills every worker within a second, the
// service manager restarts the agent (systemd Restart=on-failure). That is
// why workers are started without Pdeathsig while a guardian runs: the
// kernel sends the parent-death signal when the thread that forked the
// worker ends, and an execve ends every thread but the caller's, so
// Pdeathsig would kill the workers at every upgrade; the guardian kills
// them as surely when the agent dies and survives the exec. Without a
// guardian (it could not be started) workers get Pdeathsig and upgrades
// are refused. A kill -9 of the agent at any point of a hand-over leaves
// no worker behind (tested).
//
// # systemd
//
// Under systemd (NOTIFY_SOCKET set), the agent sends READY=1 once every
// worker is ready, STATUS=N/N workers ready, R restarts whenever that
// changes, RELOADING=1 with MONOTONIC_USEC when a reload starts (READY=1
// again when it is over), STOPPING=1 when the shutdown starts, and, when
// the watchdog is enabled for its pid, WATCHDOG=1 every WATCHDOG_USEC/2
// from the run loop itself, so a stuck loop is noticed. The workers never
// see these variables. A recommended unit:
//
//	[Unit]
//	Description=SMS gateway under node-agent
//	After=network-online.target
//
//	[Service]
//	Type=notify
//	ExecStart=/usr/local/bin/node-agent /srv/gateway -i 4 --http-address 127.0.0.1:8080 -l /var/log/gateway
//	ExecReload=/bin/kill -HUP $MAINPID
//	# SIGTERM to the agent only: it stops the workers gracefully, then
//	# systemd SIGKILLs whatever is left in the cgroup after TimeoutStopSec.
//	KillMode=mixed
//	# Above --graceful-shutdown (8 s by default).
//	TimeoutStopSec=15
//	WatchdogSec=30
//	Restart=on-failure
//	# Exit 2 is a usage or config error: restarting will not help.
//	RestartPreventExitStatus=2
//
//	[Install]
//	WantedBy=multi-user.target
package agent
