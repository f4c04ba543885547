// Command smsbench measures the SMS gateway's stores under node-agent: for
// each store — "file" (the gateway before issue 13: flock'd files, built
// from an older commit), "sqlite" (embedded) and "redis" — with 4 workers:
//
//   - throughput: -clients closed-loop keep-alive clients send to distinct
//     phones for -duration; accepted/s is the 202s per second, delivered/s
//     the messages that reached "sent" per second until all had;
//   - latency: an open-loop paced -rate sends/s for -duration; p50/p99 of
//     POST from its scheduled time to the answer;
//   - takeover: with a 2 s provider, 24 messages are accepted and claimed,
//     then every worker is SIGKILLed at once (whichever held them); takeover
//     is the time from the kill until a worker — a replacement, here —
//     started the next attempt of each message.
//
// Run it through bench/smsstore/run.sh, which builds everything and starts
// Redis. Medians over -reps runs are printed per store.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nodeagent/node-agent/bench/internal/benchkit"
	"github.com/nodeagent/node-agent/testdata/gateway/sms"
)

func main() {
	agent := flag.String("agent", "", "node-agent binary")
	gateway := flag.String("gateway", "", "gateway binary (this tree)")
	fileGateway := flag.String("file-gateway", "", "gateway binary with the file store (before issue 13); empty: skip")
	baseGateway := flag.String("base-gateway", "", "another build of the gateway (an earlier commit), measured with its embedded store as \"sqlite-base\" in the same run; empty: skip")
	redisURL := flag.String("redis", "", "redis://HOST:PORT/DB of a running Redis; empty: skip")
	work := flag.String("work", os.TempDir(), "work directory")
	reps := flag.Int("reps", 5, "runs per store")
	clients := flag.Int("clients", 32, "closed-loop clients of the throughput phase")
	rate := flag.Int("rate", 1000, "paced sends/s of the latency phase")
	duration := flag.Duration("duration", 5*time.Second, "length of the throughput and latency phases")
	flag.Parse()
	if *agent == "" || *gateway == "" {
		fmt.Fprintln(os.Stderr, "smsbench: -agent and -gateway are required")
		os.Exit(2)
	}
	stores := []storeCase{}
	if *fileGateway != "" {
		stores = append(stores, storeCase{name: "file", bin: *fileGateway})
	}
	if *baseGateway != "" {
		stores = append(stores, storeCase{name: "sqlite-base", bin: *baseGateway})
	}
	stores = append(stores, storeCase{name: "sqlite", bin: *gateway})
	if *redisURL != "" {
		stores = append(stores, storeCase{name: "redis", bin: *gateway, url: *redisURL})
	}
	b := &bench{agent: *agent, work: *work, clients: *clients, rate: *rate, duration: *duration}
	os.Exit(benchkit.Run(30*time.Minute, func(ctx context.Context) int {
		results := map[string][]result{}
		for rep := range *reps {
			for _, sc := range stores {
				r, err := b.run(ctx, sc, rep)
				if err != nil {
					fmt.Fprintf(os.Stderr, "smsbench: %s run %d: %v\n", sc.name, rep+1, err)
					return 1
				}
				fmt.Printf("run %d %-11s %s\n", rep+1, sc.name, r)
				results[sc.name] = append(results[sc.name], r)
			}
		}
		fmt.Printf("\nmedians of %d runs, 4 workers:\n", *reps)
		fmt.Println("| store | accepted sends/s | delivered sends/s | POST p50 at 1,000/s | POST p99 at 1,000/s | 503s (throughput phase) | takeover after SIGKILL, median | max |")
		fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
		for _, sc := range stores {
			fmt.Println(summary(sc.name, results[sc.name]))
		}
		return 0
	}))
}

type storeCase struct {
	name string
	bin  string
	url  string // Redis URL; empty for the embedded and file stores
}

type bench struct {
	agent    string
	work     string
	clients  int
	rate     int
	duration time.Duration
}

// result is one run of one store.
type result struct {
	accepted, delivered float64 // per second
	refused             int     // 503s in the throughput phase
	p50, p99            time.Duration
	latencyErrs         int
	takeovers           []time.Duration // one per message taken over; nil: none seen
	stuck               int             // messages of the killed worker never delivered
}

func (r result) String() string {
	tk := "none"
	if len(r.takeovers) > 0 {
		tk = fmt.Sprintf("%d taken over, median %v max %v", len(r.takeovers), median(r.takeovers).Round(time.Millisecond), slices.Max(r.takeovers).Round(time.Millisecond))
	}
	return fmt.Sprintf("accepted %.0f/s delivered %.0f/s (503s %d) | p50 %v p99 %v (errors %d) | takeover: %s, stuck %d",
		r.accepted, r.delivered, r.refused, r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.latencyErrs, tk, r.stuck)
}

func (b *bench) run(ctx context.Context, sc storeCase, rep int) (result, error) {
	var r result
	dir, err := os.MkdirTemp(b.work, sc.name+"-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	if sc.url != "" {
		if err := flushRedis(sc.url); err != nil {
			return r, err
		}
	}
	env := []string{sms.EnvDataDir + "=" + filepath.Join(dir, "data"), sms.EnvProviderLatency + "=0s"}
	if sc.url != "" {
		env = append(env, sms.EnvStore+"="+sc.url)
	}
	a, err := startAgent(ctx, b.agent, sc.bin, dir, env)
	if err != nil {
		return r, err
	}
	phones := &atomic.Int64{}
	phones.Store(int64(rep) * 100_000_000 / 8)
	r.accepted, r.delivered, r.refused, err = b.throughput(ctx, a, sc, dir, phones)
	if err == nil {
		r.p50, r.p99, r.latencyErrs, err = b.latency(ctx, a, phones)
	}
	a.stop()
	if err != nil {
		return r, err
	}

	// Takeover, on a fresh agent with a slow provider.
	if sc.url != "" {
		if err := flushRedis(sc.url); err != nil {
			return r, err
		}
	}
	env[1] = sms.EnvProviderLatency + "=2s"
	env[0] = sms.EnvDataDir + "=" + filepath.Join(dir, "data2")
	a, err = startAgent(ctx, b.agent, sc.bin, dir, env)
	if err != nil {
		return r, err
	}
	defer a.stop()
	r.takeovers, r.stuck, err = b.takeover(ctx, a, phones)
	return r, err
}

// agentRun is a running node-agent with 4 gateway workers.
type agentRun struct {
	cmd    *exec.Cmd
	addr   string
	exited chan struct{}
	done   func()
}

func startAgent(ctx context.Context, agent, gw, dir string, env []string) (*agentRun, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	log, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(agent, gw, "-i", "4", "--http-address", addr, "--applog-level", "WARN", "--exception-max", "100")
	// SMS_AUTH=off (the agent listens on loopback): the bench measures the
	// store, not the signatures of its unsigned requests.
	cmd.Env = append(append(os.Environ(), "SMS_AUTH=off"), env...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	a := &agentRun{cmd: cmd, addr: addr, exited: make(chan struct{})}
	go func() { cmd.Wait(); log.Close(); close(a.exited) }()
	a.done = benchkit.AtExit(ctx, func() { benchkit.StopSupervisor("smsbench", cmd.Process.Pid, a.exited, 20*time.Second) })
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for ready := 0; ready < 4; {
		if time.Now().After(deadline) || ctx.Err() != nil {
			a.stop()
			return nil, fmt.Errorf("gateway not ready (see %s)", filepath.Join(dir, "agent.log"))
		}
		ready = len(benchkit.Children(cmd.Process.Pid))
		if resp, err := c.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
		} else {
			ready = 0
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // every worker past its start-up
	return a, nil
}

func (a *agentRun) stop() { a.done() }

// post sends one message to a distinct phone and returns its status and id.
func post(c *http.Client, addr string, phones *atomic.Int64) (int, string, error) {
	n := phones.Add(1)
	body := fmt.Sprintf(`{"phone":"+86%011d","content":"bench %d"}`, n, n)
	resp, err := c.Post("http://"+addr+"/api/sms/send", "application/json", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var r sms.SendReply
	if resp.StatusCode == http.StatusAccepted {
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return 0, "", err
		}
	} else {
		io.Copy(io.Discard, resp.Body)
	}
	return resp.StatusCode, r.ID, nil
}

func newClient(conns int) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
}

// throughput runs the closed-loop phase and waits for delivery.
func (b *bench) throughput(ctx context.Context, a *agentRun, sc storeCase, dir string, phones *atomic.Int64) (acc, del float64, refused int, err error) {
	c := newClient(b.clients)
	var accepted, n503, failed atomic.Int64
	start := time.Now()
	end := start.Add(b.duration)
	var wg sync.WaitGroup
	for range b.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) && ctx.Err() == nil {
				code, _, err := post(c, a.addr, phones)
				switch {
				case err != nil:
					failed.Add(1)
				case code == http.StatusAccepted:
					accepted.Add(1)
				case code == http.StatusServiceUnavailable:
					n503.Add(1)
				default:
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if f := failed.Load(); f > 0 {
		return 0, 0, 0, fmt.Errorf("%d sends failed in the throughput phase", f)
	}
	total := accepted.Load()
	// Delivered: wait until the store holds no undelivered message.
	for {
		pending, err := pendingCount(ctx, sc, filepath.Join(dir, "data"))
		if err != nil {
			return 0, 0, 0, err
		}
		if pending == 0 {
			break
		}
		if time.Since(start) > 5*time.Minute || ctx.Err() != nil {
			return 0, 0, 0, fmt.Errorf("%d messages still undelivered", pending)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return float64(total) / elapsed.Seconds(), float64(total) / time.Since(start).Seconds(), int(n503.Load()), nil
}

// pendingCount is the number of accepted messages not yet sent or failed.
func pendingCount(ctx context.Context, sc storeCase, dataDir string) (int, error) {
	if sc.name == "file" {
		return pendingFiles(filepath.Join(dataDir, "msg"))
	}
	spec := "sqlite:" + filepath.Join(dataDir, sms.SQLiteFile)
	if sc.url != "" {
		spec = sc.url
	}
	st, err := sms.OpenStore(ctx, spec, "")
	if err != nil {
		return 0, err
	}
	defer st.Close()
	s, err := st.Stats(ctx)
	return s.Depth, err
}

// pendingFiles counts the file store's records that are not final.
func pendingFiles(dir string) (int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // replaced meanwhile
		}
		var m struct{ Status sms.Status }
		if json.Unmarshal(data, &m) == nil && !m.Status.Final() {
			n++
		}
	}
	return n, nil
}

// latency runs the open-loop paced phase.
func (b *bench) latency(ctx context.Context, a *agentRun, phones *atomic.Int64) (p50, p99 time.Duration, errs int, err error) {
	c := newClient(256)
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(b.rate)
	start := time.Now()
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * interval)
		if at.Sub(start) >= b.duration || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Until(at))
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, err := post(c, a.addr, phones)
			d := time.Since(at)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || code != http.StatusAccepted {
				errs++
				return
			}
			lat = append(lat, d)
		}()
	}
	wg.Wait()
	if len(lat) == 0 {
		return 0, 0, errs, fmt.Errorf("no answer in the latency phase")
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100], errs, nil
}

// takeover accepts 24 messages with a 2 s provider, SIGKILLs every worker
// and measures how long the messages waited for their next attempt.
func (b *bench) takeover(ctx context.Context, a *agentRun, phones *atomic.Int64) ([]time.Duration, int, error) {
	const providerLatency = 2 * time.Second
	c := newClient(32)
	var ids []string
	for range 24 {
		code, id, err := post(c, a.addr, phones)
		if err != nil || code != http.StatusAccepted {
			return nil, 0, fmt.Errorf("takeover phase: send: %d %v", code, err)
		}
		ids = append(ids, id)
	}
	time.Sleep(300 * time.Millisecond) // claimed and in the provider's hands
	workers := benchkit.Children(a.cmd.Process.Pid)
	if len(workers) == 0 {
		return nil, 0, fmt.Errorf("no workers")
	}
	for _, w := range workers {
		syscall.Kill(w, syscall.SIGKILL)
	}
	killed := time.Now()
	var took []time.Duration
	stuck := 0
	deadline := killed.Add(15 * time.Second)
	pending := ids
	recs := map[string]sms.Message{}
	for len(pending) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		var still []string
		for _, id := range pending {
			resp, err := c.Get("http://" + a.addr + "/api/sms/" + id)
			if err != nil {
				still = append(still, id)
				continue
			}
			var m sms.Message
			json.NewDecoder(resp.Body).Decode(&m)
			resp.Body.Close()
			recs[id] = m
			if !m.Status.Final() {
				still = append(still, id)
			}
		}
		pending = still
		time.Sleep(50 * time.Millisecond)
	}
	stuck = len(pending)
	for _, m := range recs {
		if m.Status == sms.StatusSent && m.Attempts >= 2 && m.SentAt != nil {
			// The next attempt started one provider latency before it was sent.
			took = append(took, m.SentAt.Add(-providerLatency).Sub(killed))
		}
	}
	return took, stuck, nil
}

func flushRedis(url string) error {
	st, err := sms.OpenStore(context.Background(), url, "")
	if err != nil {
		return err
	}
	defer st.Close()
	return sms.FlushRedis(context.Background(), st)
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func summary(name string, rs []result) string {
	pick := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	var all []time.Duration
	stuck := 0
	for _, r := range rs {
		all = append(all, r.takeovers...)
		stuck += r.stuck
	}
	tk, tmax := "never", "—"
	if len(all) > 0 {
		tk, tmax = median(all).Round(10*time.Millisecond).String(), slices.Max(all).Round(10*time.Millisecond).String()
	}
	if stuck > 0 {
		tk += fmt.Sprintf(" (%d messages of killed workers stuck)", stuck)
	}
	return fmt.Sprintf("| %s | %.0f | %.0f | %.2f ms | %.2f ms | %.0f | %s | %s |", name,
		pick(func(r result) float64 { return r.accepted }), pick(func(r result) float64 { return r.delivered }),
		pick(func(r result) float64 { return float64(r.p50.Microseconds()) / 1000 }),
		pick(func(r result) float64 { return float64(r.p99.Microseconds()) / 1000 }),
		pick(func(r result) float64 { return float64(r.refused) }), tk, tmax)
}
