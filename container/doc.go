// Package container is the small library a Go worker links to talk to the
// node-agent that supervises it. It has no dependency on the agent's code.
//
// # Use
//
//	func main() {
//		w, err := container.Open()
//		if err != nil {
//			log.Fatal(err)
//		}
//		defer w.Close()
//		ln, err := w.Listen("tcp", "") // the agent's shared --http-address
//		if errors.Is(err, container.ErrNoAddress) {
//			ln, err = w.Listen("tcp", "127.0.0.1:8080") // none given: the default, shared too
//		}
//		if err != nil {
//			log.Fatal(err)
//		}
//		srv := &http.Server{Handler: w.MonitorHTTP(mux), ReadHeaderTimeout: 10 * time.Second}
//		// Serves until the agent asks for a graceful stop, then drains
//		// without losing a request. The first Accept tells the agent the
//		// worker is ready.
//		if err := w.Serve(srv, ln, container.DrainOptions{}); err != nil {
//			w.Logger().Warn("drain", "err", err)
//		}
//	}
//
// Run by hand, without an agent, the same program works standalone: Listen
// is net.Listen ("" means $IP:$PORT), Done closes on SIGTERM or SIGINT, and
// Logger writes to stderr.
//
// # Contract
//
//   - Ready: the first Accept on a listener from Listen, or an explicit
//     Ready call, tells the agent the worker serves. Until then it is
//     "starting" (rolling reloads and preheatCheck wait for it).
//   - Heartbeats are sent by a goroutine of the library every keepalive/5;
//     a worker whose process hangs stops sending them and the agent kills it.
//   - Done closes when the agent asks for a graceful stop, on the first
//     SIGTERM/SIGINT (a second one has its default effect), or when the
//     agent dies. A worker whose agent died is killed OrphanGrace later:
//     workers never outlive their agent.
//   - HandleFunc registers admin commands (node-agent ctl, TARS AdminF
//     notify) whose handler may fail: its error reaches the caller as an
//     error (AdminF answers non-zero, ctl exits 1). Handle is the form for
//     handlers that cannot fail. An unknown command answers ErrNoHandler.
//     tars.setloglevel, tars.viewstatus, tars.help (the registered
//     commands), tars.dumpstack (every goroutine's stack, at most
//     MaxStackDump bytes) and tars.pprof (net/http/pprof on 127.0.0.1 for
//     a while, as the agent asks) are built in, and tars.loadconfig, which
//     calls the OnConfig callback with the path of a config file the agent
//     wrote (pushed from the TARS console into $TARS_BASEPATH).
//   - AddConfig pulls a config file from the TARS config center, as a
//     TarsGo service does with its RConf (see Config files below).
//   - Under a TARS config the worker runs in <server>logpath, where
//     tarsnode runs a tars_go server: keep files under $TARS_BASEPATH
//     (shipped with the package, pulled config files) and $TARS_DATAPATH
//     (data), not under a relative path. Elsewhere it runs in its
//     executable's directory.
//   - MonitorHTTP and Property collect statistics the agent reports to
//     Prometheus (--metrics-address) and TARS (StatF, PropertyF). They are
//     on when the agent asks for them, and cost nothing otherwise.
//
// # Config files
//
// On the TARS platform a service's config files are kept by the config
// center and pushed from the console; tarsnode does not download them for
// a TARS-type server, the service pulls them. AddConfig does it through the
// agent, which fetches the file (ConfigF.loadConfigByInfo with the app,
// server and set of its TARS config), writes it atomically into the base
// path and answers where. Off the platform there is no config center and
// the local file is the one to read:
//
//	path, err := w.AddConfig("gateway.conf")
//	if errors.Is(err, container.ErrNoConfigCenter) {
//		path, err = filepath.Join(os.Getenv("TARS_BASEPATH"), "gateway.conf"), nil // "" off TARS: the working directory's
//	}
//	if err != nil {
//		return err // the config center failed; a copy pulled before may be in $TARS_BASEPATH
//	}
//	cfg, err := load(path)
//	w.OnConfig(func(ctx context.Context, path string) error { … load and swap in … })
//
// When the console pushes a new version ("tars.loadconfig FILE"), the
// agent pulls it the same way and calls the OnConfig callback of every
// worker with its path.
//
// # Statistics
//
// Wrap the HTTP handler to count requests by interface and outcome, with
// their latencies:
//
//	srv := &http.Server{Handler: w.MonitorHTTP(mux)}
//
// A request fails when its status is ≥ --tars-monitor-http-threshold (400),
// or when its connection failed (a write error, the client gone before the
// handler returned, a panic). Its interface is the http.ServeMux pattern
// that routed it, without method ("/api/sms/{id}"), else the URL path; all
// requests share the interface "" with --tars-monitor-http-seppath off. At
// most 100 interface names are kept per worker; the rest count as
// "(other)", so a REST API with ids in its paths cannot exhaust memory.
// Recording takes no lock and does not allocate.
//
// Properties are custom metrics with TARS policies:
//
//	depth, err := w.Property("App.Server.queueDepth", container.Max, container.Avg)
//	…
//	depth.Report(float64(len(queue)))
//
// Policies are Max, Min, Count, Sum, Avg and Distr(bounds…). A worker also
// samples its Go runtime (heap, goroutines, GC pause, scheduler latency,
// from runtime/metrics); the agent adds each worker's RSS and CPU. The
// worker sends what it collected every second as deltas (so a restart
// neither loses the agent's totals nor counts twice) and once more on
// Close: call Close before the process exits, as the example does. An idle
// worker sends nothing: its runtime sample goes with the next activity (a
// request, a property, a GC, a goroutine more or less), or every
// wire.RuntimeRefreshFlushes (30) seconds.
//
// # Draining an HTTP server: lossless restarts
//
// A rolling reload starts the replacement worker, waits for its ready, then
// asks the old worker to stop. For no request to fail, the old worker must
// stop taking new connections without refusing any, and finish the
// requests that clients already sent on open keep-alive connections. That
// is what ServeHTTP (and Worker.Serve, its form for Done) does when the
// stop request comes:
//
//   - from then on every answer carries "Connection: close", and the
//     connection is closed after it: the client opens a new one, which the
//     kernel gives to another worker;
//   - the worker's listener is closed. It is the worker's own descriptor of
//     the socket the agent holds (a dup): the agent keeps the socket open,
//     so nothing is refused, and connections waiting in the socket's accept
//     queue (it belongs to the socket, not to a descriptor) are accepted by
//     whoever else accepts on it — the replacement in the same slot, or,
//     when the slot is scaled away and its socket closes, the worker of
//     another slot, to whose socket the agent's steering program moves
//     them instead of letting the kernel reset them (agent/doc.go,
//     "Sockets");
//   - in-flight requests finish; a connection that is idle (its last answer
//     went out keep-alive) is kept for DrainOptions.IdleGrace, 1 s by
//     default, so the request its client may be sending right now is still
//     answered; silent past the grace, it is closed, and never while bytes
//     of a request wait in its receive buffer;
//   - ServeHTTP returns nil when no connection is left, or
//     ErrDrainTimeout when DrainOptions.Timeout (5 s by default; keep it
//     below the agent's --graceful-shutdown) cut some. Return from main:
//     the agent sees the worker exit.
//
// Why not http.Server.Shutdown: it closes idle keep-alive connections at
// once, which races with the client's next request on them (the client
// gets EOF or a reset for a request it already sent, the failures seen with
// PM2's reload), and it drops requests read after it began. Do the
// service's own draining (queues, background work) after ServeHTTP
// returns.
//
// # Protocol (version 1)
//
// The agent starts each worker with one end of a Unix stream socket pair as
// descriptor 3 and these variables, which Open reads and removes:
//
//	NODE_AGENT_FD=3              the channel descriptor
//	NODE_AGENT_PROTOCOL=1        the protocol version
//	NODE_AGENT_HEARTBEAT_MS=N    heartbeat interval, 0 = none
//	NODE_AGENT_LOG_LEVEL=LEVEL   initial logger level
//	NODE_AGENT_MONITOR=1|0       statistics on or off (absent: off)
//	NODE_AGENT_MONITOR_FLUSH_MS=N  interval of stats and properties frames (1000)
//	NODE_AGENT_HTTP_THRESHOLD=N  status from which a request failed, 0 = none (400)
//	NODE_AGENT_HTTP_SEPPATH=1|0  one interface per path/pattern, or "" for all (1)
//	WORKER_ID=N                  the worker's slot (also for the service's own use)
//
// Frames are a 4-byte big-endian length, a kind byte, a descriptor-count
// byte and a JSON body (package wire has the layout and the limits).
// Messages, W→A from the worker, A→W from the agent:
//
//	hello (W→A)          {version, pid}: first frame; marks the worker as linked
//	ready (W→A)          the worker serves
//	heartbeat (W→A)      the worker is alive
//	listen (W→A)         {id, network, address}: asks for its socket
//	listen-result (A→W)  {id, address, error, noAddress}: with the socket as
//	                     SCM_RIGHTS; noAddress (no socket) answers "" when
//	                     the agent has no --http-address
//	stop (A→W)           stop gracefully
//	command (A→W)        {id, cmd, data}: an admin command
//	reply (W→A)          {id, text, error}: its answer
//	add-config (W→A, 20) {id, name}: pull a config file (AddConfig)
//	add-config-result (A→W, 21)  {id, path, error, code}: its answer; code
//	                     no-config-center or bad-name for the typed errors
//	log (W→A)            {time, level, file, line, msg}: a logger record
//	stats (W→A, 10)      {http: [{if, ok, err}]}: requests since the last
//	                     stats frame by interface; ok and err are latency
//	                     histograms {b: [10 counts: ≤5,10,50,100,200,500,
//	                     1000,2000,3000 ms, slower], sum, min, max (µs)}
//	properties (W→A, 11) {props: [{name, policies, count, sum, min, max,
//	                     ranges, distr}], runtime: {heap_used, heap_total,
//	                     goroutines, gc_pause, sched_latency}}: properties
//	                     reported since the last properties frame, and a
//	                     runtime sample (seconds for pause and latency)
//
// Kinds 1–9 and 20–21 are listed with their numbers in package wire; kinds
// 10–19 are monitoring kinds, read by the agent's monitor. Stats and properties are
// deltas: the agent adds them up. Both ends ignore kinds they do not know,
// so messages can be added within a version; an incompatible change bumps the version, and Open refuses an
// agent speaking another one. The agent binds a worker's socket the first
// time the worker asks for its address and keeps it, so a plain binary
// (which never asks) binds its own port.
package container
