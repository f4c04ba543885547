// Command stats measures the cost of worker statistics (issue 6): the
// reference gateway with 4 workers under node-agent, with monitoring off
// (no --metrics-address: MonitorHTTP is the handler itself) and on
// (--metrics-address: every request recorded, batches every second).
//
//	go build -o /tmp/node-agent . && go run ./bench/stats -agent /tmp/node-agent
//
// Both agents run for the whole measure; wrk rounds alternate between them
// (GET /healthz over loopback: the cheapest endpoint, the worst case for a
// fixed per-request cost), so each pair of rounds sees about the same
// background load. It prints each round, the medians and the median of the
// per-round ratio on/off; then each agent's CPU, and its workers' CPU per
// request, while they serve a paced load (5000 requests per second by
// default). Needs wrk on PATH.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	agent := flag.String("agent", "", "node-agent binary (required)")
	entry := flag.String("entry", "./testdata/gateway", "the service the agent runs")
	rounds := flag.Int("rounds", 20, "wrk rounds per mode, alternating (0: only the paced load)")
	duration := flag.Duration("duration", 4*time.Second, "wrk duration per round")
	conns := flag.Int("conns", 32, "wrk connections")
	rate := flag.Int("rate", 5000, "paced load for the agent CPU measure, requests per second")
	window := flag.Duration("window", 15*time.Second, "agent CPU measuring window")
	flag.Parse()
	if *agent == "" {
		fmt.Fprintln(os.Stderr, "stats: -agent is required")
		os.Exit(2)
	}
	if err := run(*agent, *entry, *rounds, *duration, *conns, *rate, *window); err != nil {
		fmt.Fprintln(os.Stderr, "stats:", err)
		os.Exit(1)
	}
}

var modes = []string{"off", "on"}

// run starts one agent per mode, both for the whole run, and alternates
// wrk rounds between them, so that the background load of the machine
// changes little between the two runs of a pair; then it measures the
// agents' CPU under the paced load.
func run(agent, entry string, rounds int, duration time.Duration, conns, rate int, window time.Duration) error {
	agents := map[string]*agentProc{}
	for _, mode := range modes {
		a, err := startAgent(agent, entry, mode)
		if err != nil {
			return err
		}
		defer a.stop()
		agents[mode] = a
		if _, err := wrk(a.addr, conns, 2*time.Second); err != nil { // warm-up
			return err
		}
	}
	rps := map[string][]float64{}
	var ratios []float64
	for r := range rounds {
		order := modes
		if r%2 == 1 {
			order = []string{"on", "off"}
		}
		got := map[string]float64{}
		for _, mode := range order {
			v, err := wrk(agents[mode].addr, conns, duration)
			if err != nil {
				return err
			}
			got[mode] = v
			rps[mode] = append(rps[mode], v)
		}
		ratios = append(ratios, got["on"]/got["off"])
		fmt.Printf("round %2d  off %8.0f  on %8.0f req/s  on/off %.3f\n", r+1, got["off"], got["on"], got["on"]/got["off"])
	}
	if rounds > 0 {
		off, on, ratio := median(rps["off"]), median(rps["on"]), median(ratios)
		fmt.Printf("\nGET /healthz, 4 workers, wrk -t2 -c%d -d%s, %d alternating rounds, medians:\n", conns, duration, rounds)
		fmt.Printf("  monitoring off %8.0f req/s\n  monitoring on  %8.0f req/s\n  on/off per round %.3f (loss %.1f %%)\n\n", off, on, ratio, 100*(1-ratio))
	}
	for _, mode := range modes {
		got, cpu, perReq, err := paced(agents[mode], rate, window)
		if err != nil {
			return err
		}
		fmt.Printf("monitoring %-3s at %d req/s (served %.0f/s over %s): agent CPU %.2f %% of one core, workers' CPU %.1f µs per request\n",
			mode, rate, got, window, cpu, perReq)
	}
	return nil
}

type agentProc struct {
	cmd    *exec.Cmd
	addr   string
	data   string
	exited chan error
}

// startAgent runs the agent with the gateway × 4, monitoring on
// (--metrics-address) or off.
func startAgent(agent, entry, mode string) (*agentProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	data, err := os.MkdirTemp("", "statsbench")
	if err != nil {
		return nil, err
	}
	args := []string{entry, "-i", "4", "--http-address", addr}
	if mode == "on" {
		maddr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		args = append(args, "--metrics-address", maddr)
	}
	cmd := exec.Command(agent, args...)
	cmd.Env = append(os.Environ(), "SMS_DATA_DIR="+filepath.Join(data, "sms"))
	log, err := os.Create(filepath.Join(data, "agent.log"))
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	// The agent (and so its workers) dies with the driver.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	a := &agentProc{cmd: cmd, addr: addr, data: data, exited: make(chan error, 1)}
	go func() { a.exited <- cmd.Wait() }()
	if err := waitUp("http://"+addr+"/healthz", a.exited); err != nil {
		out, _ := os.ReadFile(log.Name())
		a.stop()
		return nil, fmt.Errorf("%w\n%s", err, out)
	}
	return a, nil
}

// stop stops the agent and removes its files.
func (a *agentProc) stop() {
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exited:
	case <-time.After(20 * time.Second):
		a.cmd.Process.Kill()
		<-a.exited
	}
	os.RemoveAll(a.data)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitUp polls url until a worker answers 200.
func waitUp(url string, exited chan error) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("agent exited: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("gateway not up within 60 s")
}

var rpsLine = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

// wrk runs wrk on GET /healthz and returns the requests per second.
func wrk(addr string, conns int, d time.Duration) (float64, error) {
	out, err := exec.Command("wrk", "-t2", "-c"+strconv.Itoa(conns), "-d"+d.String(), "http://"+addr+"/healthz").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	m := rpsLine.FindSubmatch(out)
	if m == nil || strings.Contains(string(out), "Non-2xx") || strings.Contains(string(out), "Socket errors") {
		return 0, fmt.Errorf("wrk output:\n%s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// paced sends rate requests per second for window over 32 keep-alive
// connections and returns the rate served, the agent's CPU in percent of
// one core over the window, and the workers' CPU per request in µs.
func paced(a *agentProc, rate int, window time.Duration) (float64, float64, float64, error) {
	const conns = 32
	ctx, cancel := context.WithTimeout(context.Background(), window)
	defer cancel()
	var served, failed atomic.Int64
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) * conns / float64(rate))
	pid := a.cmd.Process.Pid
	cpu0, err := cpuTime(pid)
	if err != nil {
		return 0, 0, 0, err
	}
	workers, err := children(pid)
	if err != nil {
		return 0, 0, 0, err
	}
	wcpu0, err := sumCPU(workers)
	if err != nil {
		return 0, 0, 0, err
	}
	start := time.Now()
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 5 * time.Second}
			defer c.CloseIdleConnections()
			next := start.Add(interval * time.Duration(i) / conns)
			for ctx.Err() == nil {
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				next = next.Add(interval)
				resp, err := c.Get("http://" + a.addr + "/healthz")
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				served.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, err := cpuTime(pid)
	if err != nil {
		return 0, 0, 0, err
	}
	wcpu1, err := sumCPU(workers)
	if err != nil {
		return 0, 0, 0, err
	}
	if n := failed.Load(); n > 0 {
		return 0, 0, 0, fmt.Errorf("%d requests failed", n)
	}
	n := float64(served.Load())
	return n / elapsed.Seconds(), 100 * (cpu1 - cpu0).Seconds() / elapsed.Seconds(), float64((wcpu1 - wcpu0).Microseconds()) / n, nil
}

// children lists the child processes of pid, forked by any of its threads.
func children(pid int) ([]int, error) {
	files, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err != nil {
		return nil, err
	}
	var out []int
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			continue // the thread ended
		}
		for _, f := range strings.Fields(string(b)) {
			n, err := strconv.Atoi(f)
			if err != nil {
				return nil, err
			}
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the agent has no workers")
	}
	return out, nil
}

func sumCPU(pids []int) (time.Duration, error) {
	var sum time.Duration
	for _, p := range pids {
		t, err := cpuTime(p)
		if err != nil {
			return 0, err
		}
		sum += t
	}
	return sum, nil
}

// cpuTime is the user+system CPU time of pid, from /proc/PID/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const hz = 100 // USER_HZ
	return time.Duration(utime+stime) * time.Second / hz, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
