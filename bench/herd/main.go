// Command herd measures what one new connection costs a service under
// node-agent as the number of workers grows (issue 21): with a listening
// socket shared by every worker, each connection wakes every worker (and
// the agent); with one steered SO_REUSEPORT socket per slot, one.
//
//	go build -o /tmp/na-after . && go build -o /tmp/worker ./bench/worker
//	git archive 971d616 | (mkdir -p /tmp/before && tar -x -C /tmp/before)
//	(cd /tmp/before && go build -o /tmp/na-before .)
//	go run ./bench/herd -agents before=/tmp/na-before,after=/tmp/na-after -worker /tmp/worker
//
// An agent may carry options after its path, separated by spaces:
// -agents 'pack=/tmp/na-after --steering=pack,spread=/tmp/na-after --steering=spread'
// compares the two steering modes of one binary in the same run.
//
// For each worker count and each agent (alternating, so both see about the
// same background load), it starts the agent with the minimal linked worker
// (bench/worker), waits until every worker listens, measures the idle CPU
// of the agent and its workers, then sends close-per-request GET /pid at a
// fixed rate (open loop, one new connection per request) and reports the
// CPU of the agent plus all workers per 1,000 answered requests, idle cost
// subtracted, and the agent's own CPU. Last, for each agent (alternating,
// -reps times), it saturates 4 workers with closed-loop close-per-request
// clients and reports the throughput, each worker's CPU ticks and max/min
// over the window that follows -sat-warmup and, for a packing agent, the
// widening of its active set to every worker (the time it took is
// reported).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nodeagent/node-agent/bench/internal/benchkit"
)

type options struct {
	agents     []namedAgent
	worker     string
	counts     []int
	rate       int
	duration   time.Duration
	reps       int
	satWorkers int
	satClients int
	satTime    time.Duration
	satWarmup  time.Duration
}

type namedAgent struct {
	name, path string
	args       []string // options passed after the worker binary
}

func main() {
	var o options
	agents := flag.String("agents", "", "name=path [option...],... of node-agent binaries to compare (required)")
	flag.StringVar(&o.worker, "worker", "", "the worker binary, built from bench/worker (required)")
	counts := flag.String("workers", "4,32,128", "worker counts")
	flag.IntVar(&o.rate, "rate", 960, "close-per-request requests per second")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "paced load per run")
	flag.IntVar(&o.reps, "reps", 1, "runs per agent and worker count (the median is reported)")
	flag.IntVar(&o.satWorkers, "sat-workers", 4, "workers for the saturation spread (0: skip)")
	flag.IntVar(&o.satClients, "sat-clients", 32, "closed-loop clients for the saturation spread")
	flag.DurationVar(&o.satTime, "sat-duration", 10*time.Second, "saturation window")
	flag.DurationVar(&o.satWarmup, "sat-warmup", 3*time.Second, "saturating load before the window")
	flag.Parse()
	for _, a := range strings.Split(*agents, ",") {
		name, command, ok := strings.Cut(a, "=")
		fields := strings.Fields(command)
		if !ok || name == "" || len(fields) == 0 {
			fmt.Fprintf(os.Stderr, "herd: -agents wants name=path [option...],..., got %q\n", *agents)
			os.Exit(2)
		}
		o.agents = append(o.agents, namedAgent{name, fields[0], fields[1:]})
	}
	for _, c := range strings.Split(*counts, ",") {
		n, err := strconv.Atoi(c)
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "herd: bad worker count %q\n", c)
			os.Exit(2)
		}
		o.counts = append(o.counts, n)
	}
	if o.worker == "" {
		fmt.Fprintln(os.Stderr, "herd: -worker is required")
		os.Exit(2)
	}
	os.Exit(benchkit.Run(2*time.Hour, func(ctx context.Context) int {
		if err := run(ctx, o); err != nil {
			fmt.Fprintln(os.Stderr, "herd:", err)
			return 1
		}
		return 0
	}))
}

// paced is the outcome of one paced run.
type paced struct {
	answered, failed int
	perThousand      time.Duration // CPU of agent + workers per 1,000 answers, idle subtracted
	agentPercent     float64       // agent CPU, % of one core
	// agentIdle and workersIdle are their CPU before the load, % of a core.
	agentIdle, workersIdle float64
	active                 string // the packing agent's active set at the end ("" = not logged)
}

func run(ctx context.Context, o options) error {
	results := map[string]map[int][]paced{}
	for _, a := range o.agents {
		results[a.name] = map[int][]paced{}
	}
	for _, n := range o.counts {
		for rep := 0; rep < o.reps; rep++ {
			for _, a := range o.agents {
				p, err := pacedRun(ctx, o, a, n)
				if err != nil {
					return fmt.Errorf("%s, %d workers: %w", a.name, n, err)
				}
				fmt.Printf("%-8s %4d workers: %d answered, %d failed, %v CPU per 1,000, agent %.2f %% of a core (idle: agent %.2f %%, workers %.1f %%), active set %q\n",
					a.name, n, p.answered, p.failed, p.perThousand.Round(time.Millisecond), p.agentPercent, p.agentIdle, p.workersIdle, p.active)
				results[a.name][n] = append(results[a.name][n], p)
			}
		}
	}
	fmt.Printf("\n| agent | workers | answered / failed | CPU per 1,000 requests | vs %d workers | agent CPU |\n| --- | --- | --- | --- | --- | --- |\n", o.counts[0])
	for _, a := range o.agents {
		base := median(results[a.name][o.counts[0]]).perThousand
		for _, n := range o.counts {
			m := median(results[a.name][n])
			fmt.Printf("| %s | %d | %d / %d | %d ms | %.2f× | %.2f %% |\n", a.name, n, m.answered, m.failed,
				m.perThousand.Milliseconds(), float64(m.perThousand)/float64(base), m.agentPercent)
		}
	}
	if o.satWorkers == 0 {
		return nil
	}
	fmt.Println()
	for rep := 0; rep < o.reps; rep++ {
		for _, a := range o.agents {
			ticks, reqs, active, err := saturate(ctx, o, a)
			if err != nil {
				return fmt.Errorf("%s, saturation: %w", a.name, err)
			}
			lo, hi := slices.Min(ticks), slices.Max(ticks)
			fmt.Printf("%s saturated, %d workers, %d clients: %.0f requests/s, per-worker CPU ticks %v, max/min %.2f, active set %q\n",
				a.name, o.satWorkers, o.satClients, float64(reqs)/o.satTime.Seconds(), ticks, float64(hi)/float64(max(lo, 1)), active)
		}
	}
	return nil
}

// median returns the run with the median CPU per 1,000 requests.
func median(ps []paced) paced {
	s := slices.Clone(ps)
	slices.SortFunc(s, func(a, b paced) int { return int(a.perThousand - b.perThousand) })
	return s[len(s)/2]
}

// service is an agent running n bench workers.
type service struct {
	addr    string
	agent   int
	workers []int
	stop    func()

	logMu sync.Mutex
	log   []string // the agent's output
}

// packFloor returns the fewest workers a packing agent keeps active, or
// 0 for an agent that does not pack.
func (s *service) packFloor() int {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	for _, line := range s.log {
		if _, after, ok := strings.Cut(line, " keep up, at least "); ok && strings.Contains(after, "(--steering=pack)") {
			n, _ := strconv.Atoi(strings.Fields(after)[0])
			return n
		}
	}
	return 0
}

// logged tells whether the agent wrote a line containing text.
func (s *service) logged(text string) bool {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return slices.ContainsFunc(s.log, func(line string) bool { return strings.Contains(line, text) })
}

// activeSet returns how many workers the agent saw stall, how many times
// a packing agent resized its active set and the last size and reason it
// logged ("N of the M ready workers, were K (why)"); "" when neither
// happened (every worker, or the floor, is active).
func (s *service) activeSet() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	last, n, stalls := "", 0, 0
	for _, line := range s.log {
		if _, after, ok := strings.Cut(line, " go to "); ok && strings.Contains(after, " ready workers, were ") {
			last, n = after, n+1
		}
		if strings.Contains(line, "new connections go to the other workers") {
			stalls++
		}
	}
	switch {
	case n == 0 && stalls == 0:
		return ""
	case n == 0:
		return fmt.Sprintf("%d stalls steered around", stalls)
	}
	return fmt.Sprintf("%d stalls steered around, %d resizes, last: %s", stalls, n, last)
}

// start runs agent a with n workers on a free loopback port and returns
// once every worker listens.
func start(ctx context.Context, o options, a namedAgent, n int) (*service, error) {
	ready, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ready.Close()
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := append([]string{o.worker, "-i", strconv.Itoa(n), "--http-address", addr, "--exception-max", "1000000"}, a.args...)
	cmd := exec.Command(a.path, args...)
	cmd.Env = append(os.Environ(), "BENCH_READY_ADDR="+ready.LocalAddr().String())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &service{addr: addr, agent: cmd.Process.Pid}
	exited := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.logMu.Lock()
			s.log = append(s.log, sc.Text())
			s.logMu.Unlock()
		}
		cmd.Wait()
		close(exited)
	}()
	s.stop = benchkit.AtExit(ctx, func() { benchkit.StopSupervisor("herd", s.agent, exited, 15*time.Second) })
	seen := map[string]bool{}
	buf := make([]byte, 64)
	deadline := time.Now().Add(3 * time.Minute)
	for len(seen) < n {
		if ctx.Err() != nil || time.Now().After(deadline) {
			s.stop()
			s.logMu.Lock()
			defer s.logMu.Unlock()
			return nil, fmt.Errorf("%d of %d workers listen; agent log:\n%s", len(seen), n, strings.Join(s.log, "\n"))
		}
		ready.SetReadDeadline(time.Now().Add(time.Second))
		if k, _, err := ready.ReadFrom(buf); err == nil {
			seen[string(buf[:k])] = true
		}
	}
	for p := range seen {
		pid, _ := strconv.Atoi(p)
		s.workers = append(s.workers, pid)
	}
	// Every worker answers one request before the measure: the first
	// Accept is what makes a linked worker ready.
	if err := settle(ctx, addr, n); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// settle waits until the service answers and the start-up CPU has passed.
func settle(ctx context.Context, addr string, n int) error {
	deadline := time.Now().Add(time.Minute)
	for {
		if err := getClose(addr); err == nil {
			break
		} else if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the service does not answer: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second + time.Duration(n)*20*time.Millisecond)
	return nil
}

// ticks returns the CPU ticks of the agent and the sum of its workers'.
func (s *service) ticks() (agent, workers int64) {
	agent, _ = benchkit.CPUTicks(s.agent)
	for _, w := range s.workers {
		t, _ := benchkit.CPUTicks(w)
		workers += t
	}
	return agent, workers
}

const tick = time.Second / benchkit.ClkTck

func pacedRun(ctx context.Context, o options, a namedAgent, n int) (paced, error) {
	s, err := start(ctx, o, a, n)
	if err != nil {
		return paced{}, err
	}
	defer s.stop()
	// Idle cost: heartbeats, samples.
	const idleWindow = 3 * time.Second
	a0, w0 := s.ticks()
	t0 := time.Now()
	time.Sleep(idleWindow)
	a1, w1 := s.ticks()
	idleSecs := time.Since(t0).Seconds()
	idlePerSec := float64((a1-a0)+(w1-w0)) / idleSecs

	began := time.Now()
	ok, failed := paceLoad(ctx, s.addr, o.rate, o.duration)
	elapsed := time.Since(began)
	a2, w2 := s.ticks()
	busy := float64((a2-a1)+(w2-w1)) - idlePerSec*elapsed.Seconds()
	p := paced{answered: ok, failed: failed, agentPercent: 100 * float64(a2-a1) * tick.Seconds() / elapsed.Seconds(),
		agentIdle: 100 * float64(a1-a0) * tick.Seconds() / idleSecs, workersIdle: 100 * float64(w1-w0) * tick.Seconds() / idleSecs,
		active: s.activeSet()}
	if ok > 0 {
		p.perThousand = time.Duration(busy * float64(tick) * 1000 / float64(ok))
	}
	return p, nil
}

// paceLoad sends rate close-per-request GETs per second for d (open loop:
// a slow answer does not delay the next request) and waits for them all.
func paceLoad(ctx context.Context, addr string, rate int, d time.Duration) (ok, failed int) {
	var okN, failN atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 1024)
	begin := time.Now()
	sent := 0
	tk := time.NewTicker(time.Millisecond)
	defer tk.Stop()
	for ctx.Err() == nil {
		el := time.Since(begin)
		if el >= d {
			break
		}
		for due := int(el.Seconds() * float64(rate)); sent < due; sent++ {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if getClose(addr) == nil {
					okN.Add(1)
				} else {
					failN.Add(1)
				}
			}()
		}
		<-tk.C
	}
	wg.Wait()
	return int(okN.Load()), int(failN.Load())
}

// getClose sends GET /pid on a new connection with "Connection: close".
func getClose(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET /pid HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"); err != nil {
		return err
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(string(b), "HTTP/1.1 200") {
		return errors.New("not a 200 answer")
	}
	return nil
}

// saturate runs closed-loop close-per-request clients against
// o.satWorkers workers and returns each worker's CPU ticks over the window,
// the requests answered in it and the packing agent's active set.
func saturate(ctx context.Context, o options, a namedAgent) ([]int64, int64, string, error) {
	s, err := start(ctx, o, a, o.satWorkers)
	if err != nil {
		return nil, 0, "", err
	}
	defer s.stop()
	var reqs, counted atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range o.satClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if getClose(s.addr) == nil {
					reqs.Add(1)
				}
			}
		}()
	}
	began := time.Now()
	select {
	case <-time.After(o.satWarmup):
	case <-ctx.Done():
	}
	// A packing agent first widens its active set to every worker: the
	// window measures the spread once it has.
	if floor := s.packFloor(); floor > 0 && floor < len(s.workers) {
		full := fmt.Sprintf(" go to %d of the %d ready workers", len(s.workers), len(s.workers))
		for !s.logged(full) && time.Since(began) < 60*time.Second && ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
		}
		fmt.Printf("%s: every worker active %v after the load began\n", a.name, time.Since(began).Round(100*time.Millisecond))
	}
	before := make([]int64, len(s.workers))
	for i, w := range s.workers {
		before[i], _ = benchkit.CPUTicks(w)
	}
	counted.Store(reqs.Load())
	select {
	case <-time.After(o.satTime):
	case <-ctx.Done():
	}
	close(stop)
	ticks := make([]int64, len(s.workers))
	for i, w := range s.workers {
		t, _ := benchkit.CPUTicks(w)
		ticks[i] = t - before[i]
	}
	done := reqs.Load() - counted.Load()
	wg.Wait()
	return ticks, done, s.activeSet(), ctx.Err()
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
