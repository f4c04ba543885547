// Command logbench is the driver of the log benchmark of BENCHMARKS.md
// ("Logs: 1e6 lines into the log file"). Run it through bench/logs/run.sh,
// which builds node-agent, bench/logs/worker and this driver, installs the
// pinned PM2 and passes the paths:
//
//	logbench -agent BIN -worker BIN -pm2 BIN -app bench/logs/app.js -work DIR
//
// Each case starts a supervisor whose workers write -lines lines of 100
// bytes in all (split evenly between the workers) to stdout, with the
// supervisor logging to files. The time is from the first worker's start
// (its own wall-clock stamp, written just before its first line) until the
// log files hold every line: their total size reaches the expected size,
// polled every millisecond (so the supervisor's own start is not counted).
// Then it reads the supervisor's CPU time (utime+stime, from the end of its
// launch: for PM2 the daemon's own start is not counted) and peak RSS
// (VmHWM, of its whole life), stops everything, and checks the files line by line: every line
// present exactly once, byte for byte (lost, torn, duplicated are counted,
// never assumed). Cases alternate in order between repetitions. Every
// process it starts is stopped on exit, on SIGINT/SIGTERM/SIGHUP and at
// the -timeout deadline.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
	reps, lines                   int
	timeout, wait                 time.Duration
	cases                         string
}

func main() {
	var o options
	flag.StringVar(&o.agent, "agent", "", "node-agent binary")
	flag.StringVar(&o.worker, "worker", "", "bench/logs/worker binary")
	flag.StringVar(&o.pm2, "pm2", "", "pm2 executable")
	flag.StringVar(&o.app, "app", "", "bench/logs/app.js")
	flag.StringVar(&o.work, "work", "", "scratch directory")
	flag.IntVar(&o.reps, "reps", 5, "repetitions")
	flag.IntVar(&o.lines, "lines", 1000000, "lines per case, split between the workers")
	flag.DurationVar(&o.wait, "wait", 60*time.Second, "longest wait for the lines of one case")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Minute, "overall deadline")
	flag.StringVar(&o.cases, "cases", "node-agent/1,node-agent/4,node-agent-rotating/1,pm2-fork/1,pm2-fork/4,pm2-cluster/1,pm2-cluster/4", "cases, SYSTEM/WORKERS")
	flag.Parse()
	if o.work == "" {
		fmt.Fprintln(os.Stderr, "logbench: -work is required")
		os.Exit(2)
	}
	os.Exit(benchkit.Run(o.timeout, func(ctx context.Context) int { return run(ctx, o) }))
}

// ---- supervisors --------------------------------------------------------

// instance is one running supervisor.
type instance struct {
	sup  int               // the supervisor's pid (node-agent, PM2's God daemon)
	size func(pid int) int // bytes one line of worker pid takes in its log files
	tars bool              // lines carry the TARS header
	stop func()
	// verify checks the supervisor ran as intended, after the timing;
	// nil when there is nothing to check.
	verify func() error
}

// logFiles returns the files where case c, run in dir, writes the
// workers' stdout, oldest first.
func logFiles(c kase, dir string) func() []string {
	if strings.HasPrefix(c.system, "pm2") {
		out := filepath.Join(dir, "out.log")
		return func() []string { return []string{out} }
	}
	path := filepath.Join(dir, "logs/Bench/Logs/Bench.Logs.log")
	return func() []string { return withBackups(path) }
}

// launch starts case c with workers writing per lines each, stamps in dir.
func launch(ctx context.Context, o options, c kase, dir, stamps string, per int) (*instance, error) {
	env := append(os.Environ(), "BENCH_LINES="+strconv.Itoa(per), "BENCH_STAMP_DIR="+stamps)
	switch c.system {
	case "node-agent", "node-agent-rotating":
		// No rotation unless asked: 130 MB stay below 1G. Rotating keeps
		// every file, for the checker.
		size, files := "1G", "2"
		if c.system == "node-agent-rotating" {
			size, files = "10M", "100"
		}
		logf, err := os.Create(filepath.Join(dir, "node-agent.out"))
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(o.agent, o.worker, "-i", strconv.Itoa(c.workers), "-n", "Bench.Logs", "-l", filepath.Join(dir, "logs"),
			"--applog-max-size", size, "--applog-max-files", files)
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			logf.Close()
			return nil, err
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); logf.Close(); close(exited) }()
		pid := cmd.Process.Pid
		return &instance{
			sup:  pid,
			size: func(p int) int { return 126 + len(strconv.Itoa(p)) }, // "YYYY-MM-DD HH:MM:SS|PID|INFO|" + 100
			tars: true,
			stop: benchkit.AtExit(ctx, func() {
				kids := benchkit.Children(pid)
				syscall.Kill(pid, syscall.SIGTERM)
				select {
				case <-exited:
				case <-time.After(10 * time.Second):
					syscall.Kill(-pid, syscall.SIGKILL)
					<-exited
				}
				benchkit.KillLeftovers("logbench", kids)
			}),
		}, nil
	case "pm2-fork", "pm2-cluster":
		p := benchkit.PM2{Bin: o.pm2, Home: filepath.Join(dir, "pm2-home"), Log: filepath.Join(dir, "pm2-cli.log"), Env: env}
		args := []string{"start", o.app, "--name", "logbench", "-o", logFiles(c, dir)()[0], "-e", filepath.Join(dir, "err.log"), "--merge-logs", "--no-autorestart"}
		switch {
		case c.system == "pm2-cluster":
			args = append(args, "-i", strconv.Itoa(c.workers))
		case c.workers > 1:
			args = append(args, "-x", "-i", strconv.Itoa(c.workers))
		}
		stop := benchkit.AtExit(ctx, func() { p.Kill("logbench") })
		if err := p.Run(ctx, args...); err != nil {
			stop()
			return nil, err
		}
		god := p.GodPID()
		if god == 0 {
			stop()
			return nil, errors.New("pm2: no God daemon after start")
		}
		// The exec mode is checked after the measurement: pm2 jlist takes
		// a second.
		mode := strings.TrimPrefix(c.system, "pm2-")
		return &instance{sup: god, size: func(int) int { return 100 }, stop: stop,
			verify: func() error { return checkMode(ctx, p, mode) }}, nil
	}
	return nil, fmt.Errorf("unknown system %q", c.system)
}

// withBackups returns path's lumberjack backups, oldest first, then path.
func withBackups(path string) []string {
	ext := filepath.Ext(path)
	b, _ := filepath.Glob(strings.TrimSuffix(path, ext) + "-*" + ext)
	sort.Strings(b)
	return append(b, path)
}

// cpuSeconds returns utime+stime of pid.
func cpuSeconds(pid int) float64 {
	t, _ := benchkit.CPUTicks(pid)
	return float64(t) / benchkit.ClkTck
}

// peakRSS returns VmHWM of pid in MiB.
func peakRSS(pid int) float64 {
	kb, _ := benchkit.StatusKB(pid, "VmHWM")
	return float64(kb) / 1024
}

// checkMode makes sure every process of p runs in exec mode "fork" or
// "cluster".
func checkMode(ctx context.Context, p benchkit.PM2, mode string) error {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, p.Bin, "jlist")
	cmd.Env = append(append([]string(nil), p.Env...), "PM2_HOME="+p.Home)
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pm2 jlist: %w", err)
	}
	want := fmt.Sprintf(`"exec_mode":"%s_mode"`, mode)
	if n := strings.Count(out.String(), `"exec_mode":`); n == 0 || n != strings.Count(out.String(), want) {
		return fmt.Errorf("pm2 did not start every process in %s mode", mode)
	}
	return nil
}

// ---- one case -----------------------------------------------------------

type kase struct {
	system  string
	workers int
}

func (c kase) String() string { return fmt.Sprintf("%s/%d", c.system, c.workers) }

type sample struct {
	ms, cpu, rss             float64
	lost, torn, dup, records int
}

func measure(ctx context.Context, o options, c kase, rep int) (sample, error) {
	dir := filepath.Join(o.work, fmt.Sprintf("%s-%d-%d", c.system, c.workers, rep))
	stamps := filepath.Join(dir, "stamps")
	if err := os.MkdirAll(stamps, 0o755); err != nil {
		return sample{}, err
	}
	defer os.RemoveAll(dir)
	per := o.lines / c.workers
	files := logFiles(c, dir)
	// The size of the log files is sampled from before the launch on:
	// pm2 start may return after its workers are done.
	sizes := newSampler(files)
	defer sizes.stop()
	inst, err := launch(ctx, o, c, dir, stamps, per)
	if err != nil {
		return sample{}, err
	}
	defer inst.stop()
	cpu0 := cpuSeconds(inst.sup)
	deadline := time.Now().Add(o.wait)
	// The workers' pids and start stamps.
	starts := map[int]int64{}
	for len(starts) < c.workers {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return sample{}, fmt.Errorf("%v: %d of %d workers started", c, len(starts), c.workers)
		}
		ents, _ := os.ReadDir(stamps)
		for _, e := range ents {
			pid, _ := strconv.Atoi(e.Name())
			b, _ := os.ReadFile(filepath.Join(stamps, e.Name()))
			if ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && pid > 0 {
				starts[pid] = ns
			}
		}
		time.Sleep(time.Millisecond)
	}
	first := int64(1<<63 - 1)
	want := int64(0)
	for pid, ns := range starts {
		first = min(first, ns)
		want += int64(per * inst.size(pid))
	}
	end, ok := sizes.reached(ctx, want, deadline)
	s := sample{cpu: cpuSeconds(inst.sup) - cpu0, rss: peakRSS(inst.sup)}
	if ok {
		s.ms = float64(end.UnixNano()-first) / 1e6
	}
	sizes.stop()
	var verr error
	if inst.verify != nil {
		verr = inst.verify()
	}
	inst.stop()
	s.records, s.lost, s.torn, s.dup = check(files(), inst.tars, starts, c.workers, per)
	switch {
	case verr != nil:
		return s, fmt.Errorf("%v: %w", c, verr)
	case !ok:
		return s, fmt.Errorf("%v: the lines were not all in the files after %v (lost %d, torn %d, duplicated %d)", c, o.wait, s.lost, s.torn, s.dup)
	}
	return s, nil
}

// sampler records the total size of some files every millisecond.
type sampler struct {
	mu    sync.Mutex
	times []time.Time
	sizes []int64
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once
}

func newSampler(files func() []string) *sampler {
	s := &sampler{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			n := total(files())
			s.mu.Lock()
			if len(s.sizes) == 0 || n != s.sizes[len(s.sizes)-1] {
				s.times, s.sizes = append(s.times, time.Now()), append(s.sizes, n)
			}
			s.mu.Unlock()
			select {
			case <-s.quit:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// reached waits until the size is at least want and returns the time of
// the first sample that saw it; false at the deadline.
func (s *sampler) reached(ctx context.Context, want int64, deadline time.Time) (time.Time, bool) {
	for time.Now().Before(deadline) && ctx.Err() == nil {
		s.mu.Lock()
		for i, n := range s.sizes {
			if n >= want {
				t := s.times[i]
				s.mu.Unlock()
				return t, true
			}
		}
		s.mu.Unlock()
		time.Sleep(2 * time.Millisecond)
	}
	return time.Time{}, false
}

func (s *sampler) stop() {
	s.once.Do(func() { close(s.quit) })
	<-s.done
}

func total(files []string) int64 {
	var n int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// check reads files and counts the lines of workers 0..workers-1 (per
// lines each): the records seen, lost (missing), torn (not exactly a line
// the workers wrote, or a bad TARS header) and duplicated.
func check(files []string, tars bool, pids map[int]int64, workers, per int) (records, lost, torn, dup int) {
	seen := make([][]uint8, workers)
	for i := range seen {
		seen[i] = make([]uint8, per)
	}
	var want []byte
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		r := bufio.NewReaderSize(f, 1<<20)
		for {
			line, err := r.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				torn++
				for errors.Is(err, bufio.ErrBufferFull) {
					_, err = r.ReadSlice('\n')
				}
				continue
			}
			if len(line) == 0 {
				break
			}
			records++
			if tars {
				var ok bool
				if line, ok = stripHeader(line, pids); !ok {
					torn++
					continue
				}
			}
			id, n, ok := parseLine(line)
			if !ok || id >= workers || n >= per {
				torn++
				continue
			}
			if want = appendLine(want[:0], id, n); !bytes.Equal(line, want) {
				torn++
				continue
			}
			if seen[id][n]++; seen[id][n] > 1 {
				dup++
			}
			if err == io.EOF {
				break
			}
		}
		f.Close()
	}
	for _, s := range seen {
		for _, v := range s {
			if v == 0 {
				lost++
			}
		}
	}
	return records, lost, torn, dup
}

// stripHeader checks "YYYY-MM-DD HH:MM:SS|PID|INFO|" with PID a worker's
// and returns the rest.
func stripHeader(line []byte, pids map[int]int64) ([]byte, bool) {
	if len(line) < 20 || line[4] != '-' || line[7] != '-' || line[10] != ' ' || line[13] != ':' || line[16] != ':' || line[19] != '|' {
		return nil, false
	}
	rest := line[20:]
	i := bytes.IndexByte(rest, '|')
	if i < 0 {
		return nil, false
	}
	pid, err := strconv.Atoi(string(rest[:i]))
	if _, ok := pids[pid]; err != nil || !ok {
		return nil, false
	}
	rest, ok := bytes.CutPrefix(rest[i+1:], []byte("INFO|"))
	return rest, ok
}

// parseLine reads "wID NNNNNNN " at the start of a worker's line.
func parseLine(line []byte) (id, n int, ok bool) {
	if len(line) < 12 || line[0] != 'w' {
		return 0, 0, false
	}
	sp := bytes.IndexByte(line, ' ')
	if sp < 2 || len(line) < sp+9 || line[sp+8] != ' ' {
		return 0, 0, false
	}
	id, err1 := strconv.Atoi(string(line[1:sp]))
	n, err2 := strconv.Atoi(string(line[sp+1 : sp+8]))
	return id, n, err1 == nil && err2 == nil
}

// appendLine is bench/logs/worker's line i of worker id.
func appendLine(b []byte, id, i int) []byte {
	b = append(b, 'w')
	b = strconv.AppendInt(b, int64(id), 10)
	b = append(b, ' ')
	num := strconv.Itoa(i)
	for k := len(num); k < 7; k++ {
		b = append(b, '0')
	}
	b = append(b, num...)
	b = append(b, ' ')
	c := byte('a' + (i+id)%26)
	for len(b) < 99 {
		b = append(b, c)
	}
	return append(b, '\n')
}

// ---- the run ------------------------------------------------------------

func run(ctx context.Context, o options) int {
	var cases []kase
	for _, s := range strings.Split(o.cases, ",") {
		sys, n, _ := strings.Cut(strings.TrimSpace(s), "/")
		w, err := strconv.Atoi(n)
		if err != nil || w < 1 {
			fmt.Fprintf(os.Stderr, "logbench: bad case %q: want SYSTEM/WORKERS\n", s)
			return 2
		}
		cases = append(cases, kase{sys, w})
	}
	res := map[kase][]sample{}
	failed := false
	for rep := 0; rep < o.reps; rep++ {
		order := append([]kase(nil), cases...)
		if rep%2 == 1 {
			for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
				order[i], order[j] = order[j], order[i]
			}
		}
		for _, c := range order {
			if ctx.Err() != nil {
				fmt.Fprintln(os.Stderr, "logbench: stopped:", ctx.Err())
				return 1
			}
			s, err := measure(ctx, o, c, rep)
			if err != nil {
				fmt.Fprintln(os.Stderr, "logbench:", err)
				failed = true
				continue
			}
			fmt.Fprintf(os.Stderr, "rep %d %-24v %8.0f ms  cpu %.2f s  rss %.1f MiB  records %d lost %d torn %d dup %d\n",
				rep+1, c, s.ms, s.cpu, s.rss, s.records, s.lost, s.torn, s.dup)
			res[c] = append(res[c], s)
		}
	}
	report(os.Stdout, o, cases, res)
	if failed {
		return 1
	}
	return 0
}

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

func cell(v []float64, prec int) string {
	if len(v) == 0 {
		return "–"
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return fmt.Sprintf("%.*f (%.*f–%.*f)", prec, median(s), prec, s[0], prec, s[len(s)-1])
}

func report(w io.Writer, o options, cases []kase, res map[kase][]sample) {
	fmt.Fprintf(w, "\n%d lines of 100 B per case (split between the workers), %d repetitions; median (min–max)\n\n", o.lines, o.reps)
	fmt.Fprintln(w, "| case | worker start → all lines in the file (ms) | vs node-agent, same workers | supervisor CPU (s) | supervisor peak RSS (MiB) | lost | torn | duplicated |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, c := range cases {
		ss := res[c]
		var t, cpu, rss []float64
		lost, torn, dup := 0, 0, 0
		for _, s := range ss {
			t, cpu, rss = append(t, s.ms), append(cpu, s.cpu), append(rss, s.rss)
			lost, torn, dup = lost+s.lost, torn+s.torn, dup+s.dup
		}
		ratio := ""
		if base := res[kase{"node-agent", c.workers}]; len(base) > 0 && len(ss) > 0 && c.system != "node-agent" {
			var bt []float64
			for _, s := range base {
				bt = append(bt, s.ms)
			}
			ratio = fmt.Sprintf("%.1f×", median(t)/median(bt))
		}
		fmt.Fprintf(w, "| %v | %s | %s | %s | %s | %d | %d | %d |\n", c, cell(t, 0), ratio, cell(cpu, 2), cell(rss, 1), lost, torn, dup)
	}
}
