// Command nabench is the driver of the node-agent vs PM2 benchmarks of
// BENCHMARKS.md. Run it through bench/run.sh, which builds node-agent, the
// worker and this driver, installs a pinned PM2 and passes the paths:
//
//	nabench -agent BIN -worker BIN -pm2 BIN -app bench/pm2/app.js -work DIR
//
// For each repetition and each supervisor (the order alternates between
// repetitions) it measures, on loopback only:
//
//   - start32: from launching the supervisor until 32 distinct worker pids
//     have answered HTTP requests on the shared port (and, separately, until
//     32 workers reported "listening" by UDP datagram);
//   - rss32 / cpu idle: the supervisor's VmRSS once all 32 answer, then its
//     utime+stime over an idle window (default 30 s);
//   - rss4 and crash: with 4 workers, SIGKILL one worker pid and time until
//     a pid not seen before answers on the port; repeated -kills times.
//
// Every process it starts is stopped on exit, on SIGINT/SIGTERM/SIGHUP and
// at the -timeout deadline.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nodeagent/node-agent/bench/internal/benchkit"
)

type options struct {
	agent, worker, pm2, app, work string
	reps, kills, pollers          int
	idle, gap, timeout            time.Duration
	systems                       string
	scenario                      string
	// extra are arguments added to the supervisor's start command.
	extra []string
}

func main() {
	var o options
	flag.StringVar(&o.agent, "agent", "", "node-agent binary")
	flag.StringVar(&o.worker, "worker", "", "bench worker binary (bench/worker built)")
	flag.StringVar(&o.pm2, "pm2", "", "pm2 executable")
	flag.StringVar(&o.app, "app", "", "bench/pm2/app.js")
	flag.StringVar(&o.work, "work", "", "scratch directory (logs, PM2_HOME)")
	flag.IntVar(&o.reps, "reps", 5, "repetitions")
	flag.IntVar(&o.kills, "kills", 10, "worker kills per repetition")
	flag.IntVar(&o.pollers, "pollers", 4, "concurrent HTTP pollers")
	flag.DurationVar(&o.idle, "idle", 30*time.Second, "CPU idle window with 32 workers")
	flag.DurationVar(&o.gap, "gap", 1200*time.Millisecond, "pause between kills (> PM2 min_uptime of 1 s)")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Minute, "overall deadline")
	flag.StringVar(&o.systems, "systems", "node-agent,pm2", "supervisors to measure")
	flag.StringVar(&o.scenario, "scenario", "core", "what to measure: core (crash, start, RSS, idle CPU) or memory (over-limit restarts, sampling cost)")
	flag.Parse()
	if o.work == "" {
		fmt.Fprintln(os.Stderr, "nabench: -work is required")
		os.Exit(2)
	}
	os.Exit(benchkit.Run(o.timeout, func(ctx context.Context) int { return run(ctx, o) }))
}

// ---- supervisors --------------------------------------------------------

// instance is one running supervisor with n workers on port.
type instance struct {
	sup      int // supervisor pid (node-agent, or the PM2 God daemon)
	port     int
	launched time.Time
	ready    *readyListener
	stop     func()
}

type system interface {
	name() string
	// launch starts the supervisor with n workers on port; it returns as
	// soon as the supervisor is launched (not when workers answer).
	launch(ctx context.Context, n, port int, ready *readyListener) (*instance, error)
}

type nodeAgent struct{ o options }

func (nodeAgent) name() string { return "node-agent" }

func (s nodeAgent) launch(ctx context.Context, n, port int, ready *readyListener) (*instance, error) {
	logf, err := os.OpenFile(filepath.Join(s.o.work, "node-agent.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	// --exception-max: the default (2 within 10 s) would stop the agent at
	// the second kill of the crash test; PM2 has no such limit for workers
	// that lived longer than its min_uptime.
	args := append([]string{s.o.worker, "-i", strconv.Itoa(n),
		"--http-address", fmt.Sprintf("127.0.0.1:%d", port), "--exception-max", "1000000"}, s.o.extra...)
	cmd := exec.Command(s.o.agent, args...)
	cmd.Env = append(os.Environ(), "BENCH_READY_ADDR="+ready.addr)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	inst := &instance{port: port, ready: ready}
	inst.launched = time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	inst.sup = cmd.Process.Pid
	exited := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(exited) }()
	inst.stop = benchkit.AtExit(ctx, func() { benchkit.StopSupervisor("nabench", inst.sup, exited, 10*time.Second) })
	return inst, nil
}

type pm2 struct{ o options }

func (pm2) name() string { return "pm2" }

func (s pm2) home() string { return filepath.Join(s.o.work, "pm2-home") }

// cmd is the pm2 command line; the workers it starts get PORT and
// BENCH_READY_ADDR.
func (s pm2) cmd(port int, readyAddr string) benchkit.PM2 {
	return benchkit.PM2{Bin: s.o.pm2, Home: s.home(), Log: filepath.Join(s.o.work, "pm2-cli.log"),
		Env: append(os.Environ(), "PORT="+strconv.Itoa(port), "BENCH_READY_ADDR="+readyAddr)}
}

func (s pm2) cli(ctx context.Context, port int, readyAddr string, args ...string) error {
	return s.cmd(port, readyAddr).Run(ctx, args...)
}

func (s pm2) godPID() int { return s.cmd(0, "").GodPID() }

func (s pm2) launch(ctx context.Context, n, port int, ready *readyListener) (*instance, error) {
	inst := &instance{port: port, ready: ready}
	stopOnce := benchkit.AtExit(ctx, func() { s.kill() })
	inst.launched = time.Now()
	// pm2 start returns once the daemon has forked the workers; it does not
	// wait for them to listen, so the measurement goes on polling.
	args := append([]string{"start", s.o.app, "-i", strconv.Itoa(n), "--name", "nabench"}, s.o.extra...)
	if err := s.cli(ctx, port, ready.addr, args...); err != nil {
		stopOnce()
		return nil, err
	}
	inst.sup = s.godPID()
	if inst.sup == 0 {
		stopOnce()
		return nil, errors.New("pm2: no God daemon pid after start")
	}
	inst.stop = stopOnce
	return inst, nil
}

// deleteApps stops the workers but keeps the daemon.
func (s pm2) deleteApps(ctx context.Context, inst *instance) error {
	kids := benchkit.Children(inst.sup)
	err := s.cli(ctx, 0, "", "delete", "all")
	benchkit.KillLeftovers("nabench", kids)
	return err
}

// kill stops the daemon and every worker, by pm2 kill then by signal.
func (s pm2) kill() { s.cmd(0, "").Kill("nabench") }

// ---- probes -------------------------------------------------------------

type answer struct {
	pid   int
	start int64 // worker's wall-clock start, ns
	at    time.Time
}

// probeTimeout bounds one probe. A connection handed to a worker that just
// died may never be answered; the poller gives up on it and moves on.
const probeTimeout = 250 * time.Millisecond

var request = []byte("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")

// probe opens a new connection, sends one request and returns the pid in
// the answer.
func probe(port int) (answer, error) {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), probeTimeout)
	if err != nil {
		return answer{}, err
	}
	defer func() {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // no TIME_WAIT pile-up on the client side
		}
		c.Close()
	}()
	c.SetDeadline(time.Now().Add(probeTimeout))
	if _, err := c.Write(request); err != nil {
		return answer{}, err
	}
	b, err := io.ReadAll(c)
	at := time.Now()
	if err != nil && len(b) == 0 {
		return answer{}, err
	}
	s := string(b)
	i := strings.Index(s, "pid=")
	if i < 0 {
		return answer{}, fmt.Errorf("no pid in answer %q", s)
	}
	f := strings.Fields(s[i:])
	pid, err := strconv.Atoi(strings.TrimPrefix(f[0], "pid="))
	if err != nil {
		return answer{}, err
	}
	a := answer{pid: pid, at: at}
	if len(f) > 1 {
		a.start, _ = strconv.ParseInt(strings.TrimPrefix(f[1], "start="), 10, 64)
	}
	return a, nil
}

// pollUntil runs pollers concurrent probe loops (1 ms pause between probes
// of one poller) until done returns true for an answer, the deadline
// passes or ctx ends. done is called from one goroutine at a time. It
// returns the number of failed probes (refused, reset, timed out).
func pollUntil(ctx context.Context, port, pollers int, deadline time.Duration, done func(answer) bool) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	var mu sync.Mutex
	finished, failed := false, 0
	var wg sync.WaitGroup
	for range pollers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				a, err := probe(port)
				mu.Lock()
				switch {
				case err != nil:
					if !finished && ctx.Err() == nil {
						failed++
					}
				case !finished && done(a):
					finished = true
					cancel()
				}
				mu.Unlock()
				select {
				case <-ctx.Done():
				case <-time.After(time.Millisecond):
				}
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if finished {
		return failed, nil
	}
	return failed, fmt.Errorf("polling: %w", ctx.Err())
}

// waitDistinct polls until n distinct pids answered; it returns them and
// the time the n-th appeared.
func waitDistinct(ctx context.Context, port, n, pollers int, deadline time.Duration) (map[int]answer, time.Time, error) {
	seen := map[int]answer{}
	var last time.Time
	_, err := pollUntil(ctx, port, pollers, deadline, func(a answer) bool {
		if _, ok := seen[a.pid]; !ok {
			seen[a.pid] = a
			last = a.at
		}
		return len(seen) >= n
	})
	if err != nil {
		return seen, last, fmt.Errorf("%d of %d distinct pids answered: %w", len(seen), n, err)
	}
	return seen, last, nil
}

// readyListener collects the workers' "listening" datagrams.
type readyListener struct {
	addr string
	conn *net.UDPConn
	mu   sync.Mutex
	got  map[int]time.Time
}

func newReadyListener() (*readyListener, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	r := &readyListener{addr: c.LocalAddr().String(), conn: c, got: map[int]time.Time{}}
	go func() {
		buf := make([]byte, 64)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			at := time.Now()
			if pid, err := strconv.Atoi(string(buf[:n])); err == nil {
				r.mu.Lock()
				if _, ok := r.got[pid]; !ok {
					r.got[pid] = at
				}
				r.mu.Unlock()
			}
		}
	}()
	return r, nil
}

func (r *readyListener) reset() {
	r.mu.Lock()
	r.got = map[int]time.Time{}
	r.mu.Unlock()
}

// nth returns the time the n-th distinct worker reported, if it did.
func (r *readyListener) nth(n int) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.got) < n {
		return time.Time{}, false
	}
	ts := make([]time.Time, 0, len(r.got))
	for _, t := range r.got {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	return ts[n-1], true
}

func (r *readyListener) of(pid int) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.got[pid]
	return t, ok
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ---- /proc --------------------------------------------------------------

func rssKB(pid int) (int, error) { return benchkit.StatusKB(pid, "VmRSS") }

// clkTck is USER_HZ.
const clkTck = benchkit.ClkTck

// cpuTicks returns utime+stime of the process (all its threads).
func cpuTicks(pid int) (int64, error) { return benchkit.CPUTicks(pid) }

// schedNS sums the on-CPU nanoseconds of the process's live threads
// (/proc/PID/task/*/schedstat): finer than ticks, blind to exited threads.
func schedNS(pid int) int64 {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var sum int64
	for _, e := range ents {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, e.Name()))
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			v, _ := strconv.ParseInt(f[0], 10, 64)
			sum += v
		}
	}
	return sum
}

func threads(pid int) int {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	return len(ents)
}

// ---- measurements -------------------------------------------------------

type results struct {
	start32       []float64 // ms, 32 distinct pids answered
	start32Ready  []float64 // ms, 32 workers reported listening
	start32Warm   []float64 // PM2 only: daemon already running
	rss4, rss32   []float64 // MB (MiB)
	rss32After    []float64 // after the idle window
	cpuIdle       []float64 // percent of one core, ticks
	cpuIdleSched  []float64 // percent of one core, schedstat
	threads32     []float64
	crash         []float64 // ms, kill -> new pid answers
	crashStart    []float64 // ms, kill -> new worker's code starts
	crashReady    []float64 // ms, kill -> new worker reports listening
	crashAnswerAt []float64 // ms, listening -> first answer
	crashFailed   []float64 // failed probes between the kill and the new answer
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func run(ctx context.Context, o options) int {
	if err := os.MkdirAll(o.work, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "nabench:", err)
		return 1
	}
	ready, err := newReadyListener()
	if err != nil {
		fmt.Fprintln(os.Stderr, "nabench:", err)
		return 1
	}
	defer ready.conn.Close()
	var systems []system
	for _, n := range strings.Split(o.systems, ",") {
		switch strings.TrimSpace(n) {
		case "node-agent":
			systems = append(systems, nodeAgent{o})
		case "pm2":
			systems = append(systems, pm2{o})
		default:
			fmt.Fprintf(os.Stderr, "nabench: unknown system %q\n", n)
			return 2
		}
	}
	if o.scenario == "memory" {
		return runMemory(ctx, o, systems, ready)
	}
	res := map[string]*results{}
	for _, s := range systems {
		res[s.name()] = &results{}
	}
	failed := false
	for rep := range o.reps {
		for i := range systems {
			s := systems[(i+rep)%len(systems)] // alternate the order
			fmt.Fprintf(os.Stderr, "== rep %d/%d: %s\n", rep+1, o.reps, s.name())
			if err := measure32(ctx, o, s, ready, res[s.name()]); err != nil {
				fmt.Fprintf(os.Stderr, "nabench: %s, 32 workers: %v\n", s.name(), err)
				failed = true
			}
			if ctx.Err() != nil {
				break
			}
			if err := measure4(ctx, o, s, ready, res[s.name()]); err != nil {
				fmt.Fprintf(os.Stderr, "nabench: %s, 4 workers: %v\n", s.name(), err)
				failed = true
			}
			if ctx.Err() != nil {
				break
			}
		}
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "nabench: interrupted:", context.Cause(ctx))
			failed = true
			break
		}
	}
	report(os.Stdout, o, systems, res)
	if failed {
		return 1
	}
	return 0
}

func measure32(ctx context.Context, o options, s system, ready *readyListener, r *results) error {
	const n = 32
	port, err := freePort()
	if err != nil {
		return err
	}
	if p, ok := s.(pm2); ok && p.godPID() != 0 {
		p.kill() // a cold start: no daemon yet
	}
	ready.reset()
	inst, err := s.launch(ctx, n, port, ready)
	if err != nil {
		return err
	}
	defer inst.stop()
	_, last, err := waitDistinct(ctx, port, n, o.pollers, 30*time.Second)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	rss, err := rssKB(inst.sup)
	if err != nil {
		return err
	}
	r.start32 = append(r.start32, ms(last.Sub(inst.launched)))
	r.rss32 = append(r.rss32, float64(rss)/1024)
	if t, ok := ready.nth(n); ok {
		r.start32Ready = append(r.start32Ready, ms(t.Sub(inst.launched)))
	}
	fmt.Fprintf(os.Stderr, "   start32 %.0f ms, rss32 %.1f MB\n", ms(last.Sub(inst.launched)), float64(rss)/1024)

	// Idle: let the start settle, then sample for o.idle without traffic.
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}
	t0, err := cpuTicks(inst.sup)
	if err != nil {
		return err
	}
	ns0, w0 := schedNS(inst.sup), time.Now()
	if err := sleep(ctx, o.idle); err != nil {
		return err
	}
	t1, err := cpuTicks(inst.sup)
	if err != nil {
		return err
	}
	ns1, wall := schedNS(inst.sup), time.Since(w0)
	pct := float64(t1-t0) / clkTck / wall.Seconds() * 100
	r.cpuIdle = append(r.cpuIdle, pct)
	r.cpuIdleSched = append(r.cpuIdleSched, float64(ns1-ns0)/float64(wall.Nanoseconds())*100)
	r.threads32 = append(r.threads32, float64(threads(inst.sup)))
	if rss, err := rssKB(inst.sup); err == nil {
		r.rss32After = append(r.rss32After, float64(rss)/1024)
	}
	fmt.Fprintf(os.Stderr, "   idle cpu %.3f %% (%d ticks / %.1f s), sched %.3f %%\n", pct, t1-t0, wall.Seconds(), float64(ns1-ns0)/float64(wall.Nanoseconds())*100)

	// PM2 warm start: the daemon stays up, the apps are deleted and started again.
	if p, ok := s.(pm2); ok {
		if err := p.deleteApps(ctx, inst); err != nil {
			return err
		}
		port, err := freePort()
		if err != nil {
			return err
		}
		ready.reset()
		inst2, err := p.launch(ctx, n, port, ready)
		if err != nil {
			return err
		}
		defer inst2.stop()
		_, last, err := waitDistinct(ctx, port, n, o.pollers, 30*time.Second)
		if err != nil {
			return fmt.Errorf("warm start: %w", err)
		}
		r.start32Warm = append(r.start32Warm, ms(last.Sub(inst2.launched)))
		fmt.Fprintf(os.Stderr, "   start32 warm %.0f ms\n", ms(last.Sub(inst2.launched)))
	}
	return nil
}

// launchAnswered launches s with n workers on a free port and waits until
// n distinct pids answered. The caller stops the instance.
func launchAnswered(ctx context.Context, o options, s system, ready *readyListener, n int) (*instance, map[int]answer, error) {
	port, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	ready.reset()
	inst, err := s.launch(ctx, n, port, ready)
	if err != nil {
		return nil, nil, err
	}
	known, _, err := waitDistinct(ctx, port, n, o.pollers, 30*time.Second)
	if err != nil {
		inst.stop()
		return nil, nil, fmt.Errorf("start: %w", err)
	}
	return inst, known, nil
}

func measure4(ctx context.Context, o options, s system, ready *readyListener, r *results) error {
	const n = 4
	inst, known, err := launchAnswered(ctx, o, s, ready, n)
	if err != nil {
		return err
	}
	defer inst.stop()
	port := inst.port
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}
	rss, err := rssKB(inst.sup)
	if err != nil {
		return err
	}
	r.rss4 = append(r.rss4, float64(rss)/1024)
	fmt.Fprintf(os.Stderr, "   rss4 %.1f MB\n", float64(rss)/1024)

	var lat []float64
	for k := range o.kills {
		if err := sleep(ctx, o.gap); err != nil {
			return err
		}
		// The victim: the oldest known worker, checked to be a child of
		// the supervisor under test.
		victim := 0
		for pid, a := range known {
			if victim == 0 || a.start < known[victim].start {
				victim = pid
			}
		}
		if pp := benchkit.PPID(victim); pp != inst.sup {
			return fmt.Errorf("kill %d: pid %d has parent %d, not the supervisor %d", k, victim, pp, inst.sup)
		}
		var got answer
		t0 := time.Now()
		if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
			return err
		}
		nfail, err := pollUntil(ctx, port, o.pollers, 10*time.Second, func(a answer) bool {
			if _, ok := known[a.pid]; ok {
				return false
			}
			got = a
			return true
		})
		if err != nil {
			return fmt.Errorf("kill %d: no new pid answered: %w", k, err)
		}
		d := got.at.Sub(t0)
		lat = append(lat, ms(d))
		r.crashFailed = append(r.crashFailed, float64(nfail))
		r.crash = append(r.crash, ms(d))
		if got.start > 0 {
			r.crashStart = append(r.crashStart, float64(got.start-t0.UnixNano())/1e6)
		}
		if t, ok := ready.of(got.pid); ok {
			r.crashReady = append(r.crashReady, ms(t.Sub(t0)))
			r.crashAnswerAt = append(r.crashAnswerAt, ms(got.at.Sub(t)))
		}
		delete(known, victim)
		known[got.pid] = got
		if len(known) != n {
			return fmt.Errorf("kill %d: %d known pids", k, len(known))
		}
	}
	fmt.Fprintf(os.Stderr, "   crash->answer ms: %s\n", fmtList(lat))
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// ---- report -------------------------------------------------------------

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	i := int(q*float64(len(s)-1) + 0.5)
	return s[i]
}

func sum(v []float64) float64 {
	t := 0.0
	for _, x := range v {
		t += x
	}
	return t
}

func fmtList(v []float64) string {
	p := make([]string, len(v))
	for i, x := range v {
		p[i] = strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strings.Join(p, " ")
}

func cell(v []float64, prec int) string {
	if len(v) == 0 {
		return "n/a"
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return fmt.Sprintf("%.*f (%.*f–%.*f, n=%d)", prec, median(v), prec, s[0], prec, s[len(s)-1], len(v))
}

func ratio(a, b []float64) string {
	if len(a) == 0 || len(b) == 0 || median(a) == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f×", median(b)/median(a))
}

func report(w io.Writer, o options, systems []system, res map[string]*results) {
	na, p := res["node-agent"], res["pm2"]
	if na == nil {
		na = &results{}
	}
	if p == nil {
		p = &results{}
	}
	type row struct {
		name   string
		a, b   []float64
		prec   int
		goal   string
		goalOK func(float64) bool
	}
	rows := []row{
		{"crash → new pid answers (ms)", na.crash, p.crash, 1, "≤ 20", func(x float64) bool { return x <= 20 }},
		{"  p90 of the same (ms)", []float64{quantile(na.crash, .9)}, []float64{quantile(p.crash, .9)}, 1, "", nil},
		{"  kill → new worker's code starts (ms)", na.crashStart, p.crashStart, 1, "", nil},
		{"  kill → new worker listening (ms)", na.crashReady, p.crashReady, 1, "", nil},
		{"  listening → first answer (ms)", na.crashAnswerAt, p.crashAnswerAt, 1, "", nil},
		{"  probes failed in the crash windows (total)", []float64{sum(na.crashFailed)}, []float64{sum(p.crashFailed)}, 0, "", nil},
		{"agent RSS, 4 workers (MB)", na.rss4, p.rss4, 1, "≤ 15", func(x float64) bool { return x <= 15 }},
		{"agent RSS, 32 workers (MB)", na.rss32, p.rss32, 1, "", nil},
		{"  after the 30 s idle (MB)", na.rss32After, p.rss32After, 1, "", nil},
		{"start 32 → 32 pids answered (ms)", na.start32, p.start32, 0, "≤ 300", func(x float64) bool { return x <= 300 }},
		{"  → 32 workers listening (ms)", na.start32Ready, p.start32Ready, 0, "", nil},
		{"  PM2 daemon already up (ms)", nil, p.start32Warm, 0, "", nil},
		{"agent CPU idle, 32 workers (%)", na.cpuIdle, p.cpuIdle, 3, "≤ 0.2", func(x float64) bool { return x <= 0.2 }},
		{"  same from schedstat (%)", na.cpuIdleSched, p.cpuIdleSched, 3, "", nil},
		{"  agent threads, 32 workers", na.threads32, p.threads32, 0, "", nil},
	}
	fmt.Fprintf(w, "\nnode-agent vs PM2: median (min–max, n); %d reps, %d kills per rep, idle window %v, %d pollers\n\n", o.reps, o.kills, o.idle, o.pollers)
	fmt.Fprintln(w, "| metric | node-agent | PM2 | PM2 / node-agent | goal (node-agent) |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	for _, r := range rows {
		goal := r.goal
		if r.goalOK != nil && len(r.a) > 0 {
			if r.goalOK(median(r.a)) {
				goal += " ✓"
			} else {
				goal += " ✗"
			}
		}
		a, b := cell(r.a, r.prec), cell(r.b, r.prec)
		if strings.Contains(r.name, "p90") || strings.Contains(r.name, "(total)") {
			a, b = fmt.Sprintf("%.*f", r.prec, r.a[0]), fmt.Sprintf("%.*f", r.prec, r.b[0])
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.name, a, b, ratio(r.a, r.b), goal)
	}
	fmt.Fprintln(w)
	for _, s := range systems {
		r := res[s.name()]
		fmt.Fprintf(w, "%s raw: crash ms [%s]; start32 ms [%s]; start32 listening ms [%s]; rss4 MB [%s]; rss32 MB [%s]; idle %% [%s]\n",
			s.name(), fmtList(r.crash), fmtList(r.start32), fmtList(r.start32Ready), fmtList(r.rss4), fmtList(r.rss32), fmtList(r.cpuIdle))
		if len(r.start32Warm) > 0 {
			fmt.Fprintf(w, "%s raw: start32 with the daemon up ms [%s]\n", s.name(), fmtList(r.start32Warm))
		}
	}
}
