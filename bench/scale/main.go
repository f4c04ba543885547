// Command scale measures node-agent with many workers on one host (issue
// 12): for each worker count, each agent binary (-agents, "name=path" with
// the worker each links, so a before/after runs in the same session) and
// each repetition, two runs of the minimal linked worker (bench/worker):
//
//   - without --metrics-address: time from the agent's exec to its last
//     "ready" log line and to its last "started" line (the last fork), the CPU the agent and its workers had used by then
//     (per worker started: a worker's counts from its fork to its ready,
//     the agent's includes its own start-up), agent RSS and threads once
//     idle, idle CPU over
//     -idle, tars.viewstatus and agent.status round trips over AdminF
//     (-calls each; the reply must have one line per worker), and the
//     graceful stop: time from SIGTERM to the agent's exit and the workers
//     it killed at the graceful timeout;
//   - with --metrics-address: idle CPU over -idle and GET /metrics time.
//
// Agents run in turn for each worker count and repetition, so before and
// after see about the same background load; the table has the medians.
//
//	go build -o /tmp/na-new . && go build -o /tmp/worker-new ./bench/worker
//	go run ./bench/scale -agents new=/tmp/na-new:/tmp/worker-new,old=/tmp/na-old:/tmp/worker-old
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nodeagent/node-agent/bench/internal/benchkit"
	"github.com/nodeagent/node-agent/tars"
)

type options struct {
	agents  []agentBin
	sizes   []int
	reps    int
	idle    time.Duration
	calls   int
	timeout time.Duration
}

// agentBin is an agent binary and the worker binary built with it.
type agentBin struct{ name, agent, worker string }

func main() {
	var o options
	agents := flag.String("agents", "", "comma-separated name=AGENT:WORKER binaries to compare (required)")
	sizes := flag.String("sizes", "32,128,256,512", "comma-separated worker counts")
	flag.IntVar(&o.reps, "reps", 3, "repetitions of each run")
	flag.DurationVar(&o.idle, "idle", 30*time.Second, "idle CPU window")
	flag.IntVar(&o.calls, "calls", 15, "AdminF round trips of each command")
	flag.DurationVar(&o.timeout, "timeout", 2*time.Hour, "deadline of the whole benchmark")
	flag.Parse()
	for _, a := range strings.Split(*agents, ",") {
		name, bins, ok1 := strings.Cut(a, "=")
		agent, worker, ok2 := strings.Cut(bins, ":")
		if !ok1 || !ok2 {
			fmt.Fprintf(os.Stderr, "scale: -agents %q: want name=AGENT:WORKER\n", a)
			os.Exit(2)
		}
		o.agents = append(o.agents, agentBin{name, agent, worker})
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "scale: -sizes: %q is not a worker count\n", s)
			os.Exit(2)
		}
		o.sizes = append(o.sizes, n)
	}
	if len(o.agents) == 0 {
		fmt.Fprintln(os.Stderr, "scale: -agents is required")
		os.Exit(2)
	}
	os.Exit(benchkit.Run(o.timeout, func(ctx context.Context) int { return run(ctx, o) }))
}

// result is what one pair of runs (metrics off, on) measured.
type result struct {
	failed           string
	n                int // workers
	ready            time.Duration
	forked           time.Duration // to the log line of the last start
	startCPU         startCPU
	rssKB, threads   int
	idleCPU, idleMet float64 // percent of one core
	viewstatus       []time.Duration
	status           []time.Duration
	scrape           []time.Duration
	stop             time.Duration
	killed           int
	adminFailed      int // AdminF calls that failed or timed out
}

func run(ctx context.Context, o options) int {
	all := map[string]map[int][]result{}
	for _, a := range o.agents {
		all[a.name] = map[int][]result{}
	}
	for rep := range o.reps {
		for _, n := range o.sizes {
			for _, a := range o.agents {
				if ctx.Err() != nil {
					return 1
				}
				r := measure(ctx, o, a, n)
				fmt.Fprintf(os.Stderr, "rep %d %s n=%d: %s\n", rep+1, a.name, n, r.line())
				all[a.name][n] = append(all[a.name][n], r)
			}
		}
		table(o, all, rep+1) // so far: an interrupted run still has one
	}
	return 0
}

func table(o options, all map[string]map[int][]result, reps int) {
	fmt.Printf("\nmedians of %d runs, idle window %v\n", reps, o.idle)
	fmt.Printf("| agent | workers | ready | last start | agent CPU per start | worker CPU per start | RSS | threads | idle CPU | idle CPU, metrics | viewstatus p50/p99 | agent.status p50 | /metrics p50 | graceful stop | killed at timeout | failed AdminF calls | failed runs |\n")
	fmt.Printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, n := range o.sizes {
		for _, a := range o.agents {
			fmt.Println(summary(a.name, n, all[a.name][n]))
		}
	}
}

func (r result) line() string {
	if r.failed != "" {
		return "FAILED: " + r.failed
	}
	return fmt.Sprintf("ready %v, last start %v (CPU per start: agent %.1f ms, worker %.1f ms), rss %d kB, %d threads, idle %.2f%% (metrics %.2f%%), viewstatus p50 %v, stop %v, %d killed",
		r.ready.Round(time.Millisecond), r.forked.Round(time.Millisecond), r.startCPU.agentMS(r.n), r.startCPU.workerMS(r.n), r.rssKB, r.threads, r.idleCPU, r.idleMet, quantile(r.viewstatus, 0.5), r.stop.Round(time.Millisecond), r.killed)
}

func summary(name string, n int, rs []result) string {
	var ok []result
	for _, r := range rs {
		if r.failed == "" {
			ok = append(ok, r)
		}
	}
	failed := fmt.Sprintf("%d of %d", len(rs)-len(ok), len(rs))
	if len(ok) == 0 {
		return fmt.Sprintf("| %s | %d | – | – | – | – | – | – | – | – | – | – | – | – | – | – | %s |", name, n, failed)
	}
	med := func(f func(result) float64) float64 {
		xs := make([]float64, len(ok))
		for i, r := range ok {
			xs[i] = f(r)
		}
		slices.Sort(xs)
		return xs[len(xs)/2]
	}
	all := func(f func(result) []time.Duration) []time.Duration {
		var xs []time.Duration
		for _, r := range ok {
			xs = append(xs, f(r)...)
		}
		return xs
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
	vs := all(func(r result) []time.Duration { return r.viewstatus })
	killed, adminFailed := 0, 0
	for _, r := range ok {
		killed += r.killed
		adminFailed += r.adminFailed
	}
	return fmt.Sprintf("| %s | %d | %.2f s | %.2f s | %.1f ms | %.1f ms | %.1f MB | %.0f | %.2f %% | %.2f %% | %s / %s | %s | %s | %.2f s | %d | %d | %s |",
		name, n, med(func(r result) float64 { return r.ready.Seconds() }), med(func(r result) float64 { return r.forked.Seconds() }),
		med(func(r result) float64 { return r.startCPU.agentMS(n) }), med(func(r result) float64 { return r.startCPU.workerMS(n) }),
		med(func(r result) float64 { return float64(r.rssKB) / 1024 }),
		med(func(r result) float64 { return float64(r.threads) }),
		med(func(r result) float64 { return r.idleCPU }), med(func(r result) float64 { return r.idleMet }),
		ms(quantile(vs, 0.5)), ms(quantile(vs, 0.99)),
		ms(quantile(all(func(r result) []time.Duration { return r.status }), 0.5)),
		ms(quantile(all(func(r result) []time.Duration { return r.scrape }), 0.5)),
		med(func(r result) float64 { return r.stop.Seconds() }), killed, adminFailed, failed)
}

func quantile(xs []time.Duration, q float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(int(q*float64(len(s))), len(s)-1)]
}

// measure runs n workers under a twice: metrics off, then on.
func measure(ctx context.Context, o options, a agentBin, n int) result {
	r := result{n: n}
	off, err := launch(ctx, a, n, false)
	if err != nil {
		return result{failed: err.Error()}
	}
	r.ready, r.forked, r.startCPU = off.ready, off.forked, off.startCPU
	r.rssKB, _ = benchkit.StatusKB(off.pid, "VmRSS")
	r.threads, _ = benchkit.StatusKB(off.pid, "Threads")
	if r.idleCPU, err = idleCPU(ctx, off.pid, o.idle); err == nil {
		r.viewstatus, err = adminCalls(off.admin, "tars.viewstatus", n, o.calls, &r.adminFailed)
	}
	if err == nil {
		r.status, err = adminCalls(off.admin, "agent.status", 0, o.calls, &r.adminFailed)
	}
	r.stop, r.killed = off.stop()
	if err != nil {
		return result{failed: err.Error()}
	}

	on, err := launch(ctx, a, n, true)
	if err != nil {
		return result{failed: "with metrics: " + err.Error()}
	}
	defer on.stop()
	if r.idleMet, err = idleCPU(ctx, on.pid, o.idle); err == nil {
		r.scrape, err = scrapes(on.metrics, o.calls)
	}
	if err != nil {
		return result{failed: "with metrics: " + err.Error()}
	}
	return r
}

// startCPU is the CPU time spent until every worker was ready: the
// agent's, and the sum of its workers' (from their exec, so it includes
// the dynamic loader, Go's runtime and package init, and the hello and
// Listen round trips).
type startCPU struct{ agent, workers time.Duration }

// agentMS and workerMS are the agent's and a worker's CPU per start, in
// milliseconds, for n workers.
func (c startCPU) agentMS(n int) float64  { return float64(c.agent) / 1e6 / float64(n) }
func (c startCPU) workerMS(n int) float64 { return float64(c.workers) / 1e6 / float64(n) }

// cpuAtReady reads the CPU time of the agent pid and of its children.
func cpuAtReady(pid int) startCPU {
	tick := time.Second / benchkit.ClkTck
	a, _ := benchkit.CPUTicks(pid)
	var w int64
	for _, c := range benchkit.Children(pid) {
		t, _ := benchkit.CPUTicks(c)
		w += t
	}
	return startCPU{agent: time.Duration(a) * tick, workers: time.Duration(w) * tick}
}

// instance is a running agent.
type instance struct {
	pid            int
	ready          time.Duration
	forked         time.Duration // to the log line of the n-th start
	startCPU       startCPU
	admin, metrics string
	exited         chan struct{}
	killed         chan int // "exceeded the graceful timeout" lines, once it exited
	cancelStop     func()
}

// readyLimit bounds the wait for all workers to be ready.
const readyLimit = 120 * time.Second

// launch starts the agent with n workers and waits until all are ready
// (its log says so) or it exits.
func launch(ctx context.Context, a agentBin, n int, metrics bool) (*instance, error) {
	web, admin, met := freePort(), freePort(), freePort()
	inst := &instance{exited: make(chan struct{}), killed: make(chan int, 1),
		admin: fmt.Sprintf("tcp -h 127.0.0.1 -p %d -t 10000", admin), metrics: fmt.Sprintf("127.0.0.1:%d", met)}
	args := []string{a.worker, "-i", strconv.Itoa(n), "--http-address", fmt.Sprintf("127.0.0.1:%d", web),
		"--tars-local", inst.admin, "--applog-level", "INFO"}
	if metrics {
		args = append(args, "--metrics-address", inst.metrics)
	}
	cmd := exec.Command(a.agent, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	inst.pid = cmd.Process.Pid
	allReady := make(chan struct{})
	forked := make(chan time.Duration, 1)
	go func() {
		ready, killed, started := 0, 0, 0
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			l := sc.Text()
			switch {
			case strings.Contains(l, " started, pid "):
				if started++; started == n {
					forked <- time.Since(start)
				}
			case strings.Contains(l, ") ready after "):
				if ready++; ready == n {
					close(allReady)
				}
			case strings.Contains(l, "exceeded the graceful timeout"):
				killed++
			}
		}
		io.Copy(io.Discard, out)
		cmd.Wait()
		inst.killed <- killed
		close(inst.exited)
	}()
	inst.cancelStop = benchkit.AtExit(ctx, func() { benchkit.StopSupervisor("scale", inst.pid, inst.exited, 30*time.Second) })
	select {
	case <-allReady:
		inst.ready = time.Since(start)
		inst.startCPU = cpuAtReady(inst.pid)
		inst.forked = <-forked // logged before the last ready
		return inst, nil
	case <-inst.exited:
		return nil, fmt.Errorf("the agent exited before its %d workers were ready (%v)", n, cmd.ProcessState)
	case <-time.After(readyLimit):
		inst.stop()
		return nil, fmt.Errorf("%d workers not ready within %v", n, readyLimit)
	case <-ctx.Done():
		inst.stop()
		return nil, ctx.Err()
	}
}

// stop sends SIGTERM and returns how long the agent took to exit and how
// many workers it killed at the graceful timeout.
func (inst *instance) stop() (time.Duration, int) {
	select {
	case <-inst.exited:
		return 0, 0
	default:
	}
	t0 := time.Now()
	syscall.Kill(inst.pid, syscall.SIGTERM)
	select {
	case <-inst.exited:
	case <-time.After(30 * time.Second):
	}
	took := time.Since(t0)
	inst.cancelStop() // SIGKILLs the group if it still runs
	return took, <-inst.killed
}

// idleCPU is the agent's CPU use over d after a 2 s settle, in percent
// of one core.
func idleCPU(ctx context.Context, pid int, d time.Duration) (float64, error) {
	select {
	case <-time.After(2 * time.Second):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	t0, err := benchkit.CPUTicks(pid)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	t1, err := benchkit.CPUTicks(pid)
	if err != nil {
		return 0, err
	}
	return 100 * float64(t1-t0) / benchkit.ClkTck / time.Since(start).Seconds(), nil
}

// adminCalls times calls AdminF notify round trips of command on one
// connection, after two to warm up; with lines > 0 the reply must have one
// line per worker.
// A call that fails (or times out, after 10 s) counts in *failed.
func adminCalls(endpoint, command string, lines, calls int, failed *int) ([]time.Duration, error) {
	c, err := tars.NewClient(tars.ServantAdmin+"@"+endpoint, tars.ClientOptions{Timeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var lat []time.Duration
	for i := range calls + 2 {
		var res tars.StringResult
		t0 := time.Now()
		if err := c.Invoke(context.Background(), tars.FuncNotify, &tars.NotifyArgs{Command: command}, &res); err != nil {
			fmt.Fprintf(os.Stderr, "scale: %s: %v\n", command, err)
			*failed++
			continue
		}
		if i >= 2 {
			lat = append(lat, time.Since(t0))
		}
		if got := strings.Count(strings.TrimSuffix(res.Ret, "\n"), "\n") + 1; lines > 0 && got != lines {
			return nil, fmt.Errorf("%s: reply has %d lines, want %d", command, got, lines)
		}
	}
	return lat, nil
}

// scrapes times calls GET /metrics.
func scrapes(addr string, calls int) ([]time.Duration, error) {
	var lat []time.Duration
	for range calls {
		t0 := time.Now()
		res, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err == nil && res.StatusCode != http.StatusOK {
			err = errors.New("/metrics: " + res.Status)
		}
		if err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
	}
	return lat, nil
}

// freePort returns a loopback port free a moment ago.
func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
