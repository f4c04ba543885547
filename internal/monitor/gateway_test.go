package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
	"github.com/nodeagent/node-agent/tars"
	"github.com/nodeagent/node-agent/tars/tarstest"
)

// These tests run the reference SMS gateway (testdata/gateway), which links
// the container library and wraps its API with MonitorHTTP, as four real
// worker processes sharing one socket. A small stand-in for the agent
// answers their channel (hello, ready, listen) and feeds their statistics
// frames to an Aggregator, as the agent's run loop does; the test checks
// /metrics and the StatF reports against what its HTTP client saw.

// testAgent is the stand-in for the agent's worker table.
type testAgent struct {
	t   *testing.T
	bin string
	env []string
	ln  *os.File // the shared listening socket
	agg *Aggregator

	mu    sync.Mutex
	procs map[int]*testWorker // by slot
}

type testWorker struct {
	slot  int
	cmd   *exec.Cmd
	conn  *wire.Conn
	ready chan struct{}
	once  sync.Once
	done  chan struct{} // the channel ended
}

func buildGateway(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gateway")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/nodeagent/node-agent/testdata/gateway")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the gateway: %v\n%s", err, out)
	}
	return bin
}

func newTestAgent(t *testing.T, addr *string, env ...string) *testAgent {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := l.(*net.TCPListener).File()
	l.Close() // f keeps the socket
	if err != nil {
		t.Fatal(err)
	}
	*addr = l.Addr().String()
	a := &testAgent{t: t, bin: buildGateway(t), ln: f, agg: NewAggregator(), procs: map[int]*testWorker{},
		// SMS_AUTH=off (loopback only): these tests count the API's own answers.
		env: append([]string{"SMS_DATA_DIR=" + t.TempDir(), "SMS_AUTH=off"}, env...)}
	t.Cleanup(func() {
		a.mu.Lock()
		procs := a.procs
		a.mu.Unlock()
		for _, w := range procs {
			a.kill(w)
		}
		f.Close()
	})
	return a
}

// start runs a gateway worker in slot, as the agent would with
// --metrics-address set.
func (a *testAgent) start(slot int) *testWorker {
	a.t.Helper()
	conn, theirs, err := wire.Pair()
	if err != nil {
		a.t.Fatal(err)
	}
	cmd := exec.Command(a.bin)
	cmd.Env = append(os.Environ(), a.env...)
	cmd.Env = append(cmd.Env,
		wire.EnvChannelFD+"="+strconv.Itoa(wire.ChannelFD), wire.EnvProtocol+"="+strconv.Itoa(wire.Version),
		wire.EnvMonitor+"=1", wire.EnvMonitorFlush+"=20", "WORKER_ID="+strconv.Itoa(slot))
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
	theirs.Close()
	w := &testWorker{slot: slot, cmd: cmd, conn: conn, ready: make(chan struct{}), done: make(chan struct{})}
	go a.serve(w)
	a.mu.Lock()
	a.procs[slot] = w
	a.mu.Unlock()
	select {
	case <-w.ready:
	case <-w.done:
		a.t.Fatalf("worker %d ended before it was ready", slot)
	case <-time.After(30 * time.Second):
		a.t.Fatalf("worker %d not ready within 30 s", slot)
	}
	return w
}

// serve answers a worker's frames as the agent's run loop does.
func (a *testAgent) serve(w *testWorker) {
	defer close(w.done)
	pid := w.cmd.Process.Pid
	for {
		m, err := w.conn.Receive()
		if err != nil {
			return
		}
		switch {
		case m.Kind == wire.KindReady:
			w.once.Do(func() { close(w.ready) })
		case m.Kind == wire.KindListen:
			var req wire.Listen
			m.Decode(&req)
			w.conn.Send(wire.KindListenResult, wire.ListenResult{ID: req.ID, Address: "shared"}, a.ln)
		case m.Kind.IsMonitoring():
			if err := a.agg.Handle(w.slot, pid, m); err != nil {
				a.t.Errorf("worker %d: %v", w.slot, err)
			}
		}
		for _, f := range m.Files {
			f.Close()
		}
	}
}

// kill ends a worker at once: what it did not flush yet is lost, as in a
// crash.
func (a *testAgent) kill(w *testWorker) {
	w.cmd.Process.Kill()
	w.cmd.Wait()
	w.conn.Close()
	<-w.done
}

// snapshot is the Source of the stand-in.
func (a *testAgent) snapshot(ctx context.Context) (Snapshot, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var s Snapshot
	for slot := range len(a.procs) {
		w := a.procs[slot]
		st := StateStarting
		select {
		case <-w.ready:
			st = StateReady
		default:
		}
		s.Workers = append(s.Workers, Worker{Slot: slot, PID: w.cmd.Process.Pid, State: st})
	}
	return s, ctx.Err()
}

// tally counts what the client saw by interface and outcome.
type tally map[[2]string]int

// interfaces lists the interfaces in the tally.
func (s tally) interfaces() map[string]bool {
	out := map[string]bool{}
	for k := range s {
		out[k[0]] = true
	}
	return out
}

// gatewayLoad sends a known mix of requests: 2xx, 4xx and 5xx (503 once a
// worker's queue is full: the provider takes an hour). It returns what the
// client saw and the worker pids that answered.
func gatewayLoad(t *testing.T, addr string, phones *int, seen tally) map[string]bool {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer c.CloseIdleConnections()
	pids := map[string]bool{}
	do := func(method, path, body, iface string) {
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		outcome := OutcomeSuccess
		if resp.StatusCode >= 400 {
			outcome = OutcomeError
		}
		seen[[2]string{iface, outcome}]++
		pids[resp.Header.Get("X-Worker-Pid")] = true
	}
	for range 20 {
		do("GET", "/healthz", "", "/healthz")
	}
	for range 5 {
		do("POST", "/api/sms/send", `{"phone":"12","content":"x"}`, "/api/sms/send") // 400
	}
	for range 30 { // 202 until a worker's queue is full, then 503
		*phones++
		do("POST", "/api/sms/send", fmt.Sprintf(`{"phone":"+86138%08d","content":"hello"}`, *phones), "/api/sms/send")
	}
	for i := range 5 {
		do("GET", fmt.Sprintf("/api/sms/no-such-id-%d", i), "", "/api/sms/{id}") // 404
	}
	for i := range 3 {
		do("GET", fmt.Sprintf("/no/such/page/%d", i), "", "/") // the catch-all's 404
	}
	do("DELETE", "/healthz", "", "/healthz") // 405
	return pids
}

// waitCounts polls the scrape until the request counters reach the total
// the client saw, then checks each of them is exact.
func waitCounts(t *testing.T, h http.Handler, want tally) families {
	t.Helper()
	total := 0
	for _, n := range want {
		total += n
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		fams := scrape(t, h)
		got := 0.0
		if fam, ok := fams["node_agent_http_requests_total"]; ok {
			for _, m := range fam.Metric {
				got += m.Counter.GetValue()
			}
		}
		if int(got) >= total || time.Now().After(deadline) {
			for k, n := range want {
				if v := fams.value("node_agent_http_requests_total", map[string]string{"interface": k[0], "outcome": k[1]}); v != float64(n) {
					t.Errorf("requests{interface=%q,outcome=%q} = %v, want %d", k[0], k[1], v, n)
				}
			}
			if int(got) != total {
				t.Fatalf("%v requests counted in all, the client made %d", got, total)
			}
			return fams
		}
		time.Sleep(20 * time.Millisecond) // the workers flush every 20 ms
	}
}

func TestGatewayFourWorkersExactCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gateway")
	}
	var addr string
	a := newTestAgent(t, &addr, "SMS_QUEUE_SIZE=1", "SMS_PROVIDER_LATENCY=1h")
	for slot := range 4 {
		a.start(slot)
	}
	h := NewHandler(MetricsOptions{Source: a.snapshot, Aggregator: a.agg})

	seen, phones := tally{}, 0
	pids := gatewayLoad(t, addr, &phones, seen)
	if len(pids) < 2 {
		t.Logf("only %d workers answered: %v", len(pids), pids)
	}
	if seen[[2]string{"/api/sms/send", OutcomeError}] <= 5 {
		t.Fatalf("no 503 from a full queue: %v", seen)
	}
	fams := waitCounts(t, h, seen)
	if n := len(fams.labelValues("node_agent_http_requests_total", "interface")); n != 2*len(seen.interfaces()) {
		t.Errorf("%d request series, want 2 outcomes × %v: %v", n, seen.interfaces(), fams.labelValues("node_agent_http_requests_total", "interface"))
	}
	for slot := range 4 {
		s := strconv.Itoa(slot)
		if v := fams.value("node_agent_worker_state", map[string]string{"slot": s, "state": "ready"}); v != 1 {
			t.Errorf("worker %d ready = %v", slot, v)
		}
		if v := fams.value("node_agent_worker_goroutines", map[string]string{"slot": s}); v <= 0 {
			t.Errorf("worker %d goroutines = %v", slot, v)
		}
	}

	// A crash loses nothing already counted, and the replacement in the
	// same slot adds to the totals instead of starting them again.
	a.mu.Lock()
	w0 := a.procs[0]
	a.mu.Unlock()
	a.kill(w0)
	a.start(0)
	gatewayLoad(t, addr, &phones, seen)
	waitCounts(t, h, seen)

	// The TARS report of the interval carries the same counts, as encoded
	// and, when the npm peers are installed, as @tars/rpc decodes them.
	send := &fakeSender{}
	var peer *tarstest.StatPeer
	opts := TarsOptions{Stat: "stat", Property: "property", ModuleName: "Sms.Gateway"}
	var sender Sender = send
	if interopInstalled() {
		peer = tarstest.StartStatPeer(t)
		opts.Stat, opts.Property = peer.Stat, peer.Property
		sender = teeSender{send, clientSender(t)}
	}
	a.agg.ObserveUsage(0, 1, 10<<20, 0.1)
	if err := NewTarsReporter(a.agg, sender, opts).Report(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := tally{}
	for _, r := range send.stats(t) {
		got[[2]string{r.Key.InterfaceName, OutcomeSuccess}] += int(r.Value.Count)
		got[[2]string{r.Key.InterfaceName, OutcomeError}] += int(r.Value.ExecCount)
	}
	for k, n := range seen {
		if got[k] != n {
			t.Errorf("StatF %v: %d, want %d", k, got[k], n)
		}
	}
	if peer == nil {
		t.Log("npm peers not installed: StatF checked as encoded only (npm ci --prefix tars/testdata/interop)")
		return
	}
	stats, props := peer.Collect(t, len(seen.interfaces()), len(usageNames), 10*time.Second)
	for k, n := range seen {
		s, ok := stats[k[0]]
		got := s.Body.Count
		if k[1] == OutcomeError {
			got = s.Body.ExecCount
		}
		if !ok || got != n {
			t.Errorf("@tars/rpc decoded %v = %d, want %d", k, got, n)
		}
	}
	for _, name := range usageNames {
		if _, ok := props["Sms.Gateway."+name]; !ok {
			t.Errorf("usage property Sms.Gateway.%s not received", name)
		}
	}
}

// teeSender sends each call with both senders.
type teeSender [2]Sender

func (s teeSender) Invoke(ctx context.Context, obj, fn string, args tars.Struct, oneway bool) error {
	return errors.Join(s[0].Invoke(ctx, obj, fn, args, oneway), s[1].Invoke(ctx, obj, fn, args, oneway))
}
