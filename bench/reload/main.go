// Command reload is the driver of the rolling-reload benchmark of
// BENCHMARKS.md: node-agent running the SMS gateway (reload = SIGHUP to the
// agent) against PM2 cluster mode running the equivalent Node.js app
// (reload = `pm2 reload`). Run it through bench/reload/run.sh, which builds
// and installs everything and passes the paths:
//
//	reload -agent BIN -gateway BIN -pm2 BIN -app bench/reload/app.js \
//	       -wrk wrk -lua bench/reload/pace.lua -work DIR
//
// For each repetition and each supervisor (the order alternates), it starts
// the supervisor with -instances workers on a loopback port, waits until
// every worker answers, warms up, then for each client (keepalive: -conns
// keep-alive connections; close: "Connection: close", a new connection per
// request) makes two wrk runs of -duration at about -rate requests/s
// (pace.lua): a steady one, and one with a reload at -reload-at. It reports
// the failed requests (socket errors + non-2xx) and wrk's latency p50, p99
// and max of each run, checks that the reload replaced every worker, and
// prints the medians per supervisor and client.
//
// -systems node-agent-upgrade,pm2-update measures upgrading the supervisor
// itself instead of reloading the workers: node-agent upgrades in place to
// -agent-next (another version) and back at the next run, and must keep
// every worker ("replaced" 0/N; its time is the upgrade command's, from
// the request to the new program's answer); PM2 runs `pm2 update`.
//
// Every process it starts is stopped on exit, on SIGINT/SIGTERM/SIGHUP and
// at the -timeout deadline.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nodeagent/node-agent/bench/internal/benchkit"
)

type options struct {
	agent, gateway, pm2, app, wrk, lua, work string
	agentNext                                string
	reps, instances, rate, conns, threads    int
	duration, reloadAt, warmup, timeout      time.Duration
	pm2Timeout                               time.Duration
	systems, clients                         string
}

func main() {
	var o options
	flag.StringVar(&o.agent, "agent", "", "node-agent binary")
	flag.StringVar(&o.agentNext, "agent-next", "", "another node-agent build (another version), for node-agent-upgrade")
	flag.StringVar(&o.gateway, "gateway", "", "gateway binary (testdata/gateway built)")
	flag.StringVar(&o.pm2, "pm2", "", "pm2 executable")
	flag.StringVar(&o.app, "app", "", "bench/reload/app.js")
	flag.StringVar(&o.wrk, "wrk", "wrk", "wrk executable")
	flag.StringVar(&o.lua, "lua", "", "bench/reload/pace.lua")
	flag.StringVar(&o.work, "work", "", "scratch directory (logs, PM2_HOME, gateway data)")
	flag.IntVar(&o.reps, "reps", 5, "repetitions")
	flag.IntVar(&o.instances, "instances", 4, "workers per supervisor")
	flag.IntVar(&o.rate, "rate", 1000, "requests per second, all connections together")
	flag.IntVar(&o.conns, "conns", 32, "wrk connections")
	flag.IntVar(&o.threads, "threads", 2, "wrk threads")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "length of one wrk run")
	flag.DurationVar(&o.reloadAt, "reload-at", 8*time.Second, "when the reload starts, from the start of the run")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "unmeasured load after each start")
	flag.DurationVar(&o.timeout, "timeout", 45*time.Minute, "overall deadline")
	flag.DurationVar(&o.pm2Timeout, "pm2-timeout", benchkit.DefaultPM2Timeout, "deadline of each pm2 command (start, reload, update); a loaded machine may need more to start 32 cluster workers")
	flag.StringVar(&o.systems, "systems", "node-agent,pm2", "supervisors to measure: node-agent, pm2, node-agent-term (rolling SIGTERM by the driver, no agent reload needed), node-agent-upgrade (the agent upgrades itself in place, to -agent-next and back, instead of a reload), pm2-update (pm2 update instead of a reload)")
	flag.StringVar(&o.clients, "clients", "keepalive,close", "client kinds: keepalive, close")
	flag.Parse()
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "reload:", err)
		os.Exit(2)
	}
	os.Exit(benchkit.Run(o.timeout, func(ctx context.Context) int { return run(ctx, o) }))
}

func (o options) check() error {
	if o.work == "" || o.lua == "" {
		return fmt.Errorf("-work and -lua are required")
	}
	if o.reloadAt <= 0 || o.reloadAt >= o.duration {
		return fmt.Errorf("-reload-at %v must fall within -duration %v", o.reloadAt, o.duration)
	}
	for _, s := range strings.Split(o.systems, ",") {
		switch s {
		case "node-agent", "node-agent-term":
			if o.agent == "" || o.gateway == "" {
				return fmt.Errorf("node-agent needs -agent and -gateway")
			}
		case "node-agent-upgrade":
			if o.agent == "" || o.agentNext == "" || o.gateway == "" {
				return fmt.Errorf("node-agent-upgrade needs -agent, -agent-next and -gateway")
			}
		case "pm2", "pm2-update":
			if o.pm2 == "" || o.app == "" {
				return fmt.Errorf("pm2 needs -pm2 and -app")
			}
		default:
			return fmt.Errorf("unknown system %q", s)
		}
	}
	for _, c := range strings.Split(o.clients, ",") {
		if c != "keepalive" && c != "close" {
			return fmt.Errorf("unknown client %q", c)
		}
	}
	return nil
}

func run(ctx context.Context, o options) int {
	var systems []system
	for _, s := range strings.Split(o.systems, ",") {
		switch s {
		case "node-agent":
			systems = append(systems, nodeAgent{o: o})
		case "node-agent-term":
			systems = append(systems, nodeAgent{o: o, term: true})
		case "node-agent-upgrade":
			systems = append(systems, nodeAgent{o: o, upgrade: true})
		case "pm2":
			systems = append(systems, pm2{o: o})
		case "pm2-update":
			systems = append(systems, pm2{o: o, update: true})
		}
	}
	clients := strings.Split(o.clients, ",")
	fmt.Printf("load: wrk -t%d -c%d, paced to %d req/s (pace.lua), %v per run, reload at %v; %d workers; %d repetitions\n",
		o.threads, o.conns, o.rate, o.duration, o.reloadAt, o.instances, o.reps)
	fmt.Printf("%-10s %-9s %-7s %3s %7s %6s %-34s %8s %8s %8s %9s %s\n",
		"system", "client", "run", "rep", "reqs", "failed", "(connect/read/write/timeout/non2xx)", "p50 ms", "p99 ms", "max ms", "reload s", "replaced")
	var all []result
	failed := false
	for rep := 1; rep <= o.reps; rep++ {
		order := systems
		if rep%2 == 0 {
			order = reversed(systems)
		}
		for _, s := range order {
			rs, err := measure(ctx, o, s, rep, clients)
			all = append(all, rs...)
			if err != nil {
				fmt.Fprintf(os.Stderr, "reload: %s rep %d: %v\n", s.name(), rep, err)
				failed = true
				if ctx.Err() != nil {
					summarize(o, all)
					return 1
				}
			}
		}
	}
	summarize(o, all)
	if failed {
		return 1
	}
	return 0
}

// measure starts s, and makes the steady and the reload run of every
// client.
func measure(ctx context.Context, o options, s system, rep int, clients []string) ([]result, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	inst, err := s.launch(ctx, o.instances, port)
	if err != nil {
		return nil, err
	}
	defer inst.stop()
	if _, err := waitServing(ctx, port, o.instances, time.Minute); err != nil {
		return nil, fmt.Errorf("workers did not answer: %w", err)
	}
	if o.warmup > 0 {
		if _, err := wrkRun(ctx, o, port, "keepalive", o.warmup); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	var out []result
	for _, c := range clients {
		for _, reload := range []bool{false, true} {
			r, err := loadRun(ctx, o, inst, c, reload)
			r.system, r.client, r.rep = s.name(), c, rep
			out = append(out, r)
			r.print()
			if err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// loadRun is one wrk run, with a reload at o.reloadAt if asked.
func loadRun(ctx context.Context, o options, inst *instance, client string, reload bool) (result, error) {
	r := result{reload: reload}
	before := inst.workers()
	type reloaded struct {
		took time.Duration
		err  error
	}
	done := make(chan reloaded, 1)
	var timer *time.Timer
	if reload {
		timer = time.AfterFunc(o.reloadAt, func() {
			t0 := time.Now()
			err := inst.reload(ctx)
			if err == nil && !inst.keeps {
				err = waitGone(ctx, before, o.duration)
			}
			done <- reloaded{time.Since(t0), err}
		})
	}
	w, err := wrkRun(ctx, o, inst.port, client, o.duration)
	r.wrk = w
	if err != nil {
		if timer != nil && timer.Stop() {
			return r, err
		}
		if timer != nil {
			<-done
		}
		return r, err
	}
	if reload {
		select {
		case d := <-done:
			r.reloadTook = d.took
			if d.err != nil {
				r.note = d.err.Error()
			}
		case <-ctx.Done():
			return r, ctx.Err()
		}
	}
	after := inst.workers()
	r.workers = len(before)
	for _, p := range before {
		if !contains(after, p) {
			r.replaced++
		}
	}
	switch {
	case reload && inst.keeps && r.replaced > 0 && r.note == "":
		r.note = "the upgrade restarted workers"
	case reload && !inst.keeps && r.replaced < len(before) && r.note == "":
		r.note = "reload did not replace every worker"
	}
	// The next run starts with every worker serving.
	if _, err := waitServing(ctx, inst.port, o.instances, time.Minute); err != nil {
		return r, fmt.Errorf("after the run: %w", err)
	}
	return r, nil
}

func reversed(s []system) []system {
	out := make([]system, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
