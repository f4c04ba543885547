// Command tarsbench measures the TARS parts of the agent (BENCHMARKS.md,
// "TARS codec and AdminF"). Run it from the repository root:
//
//	npm ci --prefix tars/testdata/interop   # once: the @tars/stream peer
//	go run ./bench/tars                     # -reps 5 -calls 20000
//
// Codec: encode + decode of a StatF batch of 100 heads (ReportMicMsgArgs)
// and of a framed RequestPacket, by package tars (testing.Benchmark) and by
// @tars/stream/@tars/rpc on the very same bytes
// (tars/testdata/interop/bench.js), in the same run; medians of -reps runs
// and the ratio node/Go.
//
// AdminF: notify round trips through tars.NewAdminServer whose handler,
// like the agent, passes the command to one loop goroutine that fans it out
// to -workers simulated workers over Unix socket pairs and gathers their
// replies; the client is a tars.Client on loopback. Sequential calls on
// one connection (tarsnode's case) and with a new connection per call
// (node-agent ctl's case); p50/p99/p99.9/max.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/tars"
)

func main() {
	reps := flag.Int("reps", 5, "repetitions of each codec measurement (median reported)")
	calls := flag.Int("calls", 20000, "AdminF notify calls on one connection")
	fresh := flag.Int("fresh", 2000, "AdminF notify calls with a new connection each")
	workers := flag.Int("workers", 4, "simulated workers the notify handler fans out to")
	interop := flag.String("interop", filepath.Join("tars", "testdata", "interop"), "directory of bench.js and its node_modules")
	command := flag.String("command", "tars.viewstatus", "the AdminF notify command of the round trip")
	endpoint := flag.String("endpoint", "", "measure the AdminF round trip of a running agent at this endpoint (its --tars-local) with -workers workers, instead of the codec and the simulated fan-out")
	flag.Parse()

	fmt.Printf("tarsbench %s, %s/%s, %d CPUs, %s\n", time.Now().UTC().Format(time.DateTime), runtime.GOOS, runtime.GOARCH,
		runtime.NumCPU(), runtime.Version())
	if *endpoint == "" {
		if err := codec(*reps, *interop); err != nil {
			fmt.Fprintln(os.Stderr, "tarsbench:", err)
			os.Exit(1)
		}
	}
	if err := admin(*command, *calls, *fresh, *workers, *endpoint); err != nil {
		fmt.Fprintln(os.Stderr, "tarsbench:", err)
		os.Exit(1)
	}
}

// statBatch is a StatF report of n heads as the agent sends them: HTTP
// stats per path, every latency bucket filled.
func statBatch(n int) *tars.ReportMicMsgArgs {
	a := &tars.ReportMicMsgArgs{}
	for i := range n {
		ic := map[int32]int32{}
		for j, p := range tars.StatIntervals {
			ic[p] = int32(i*j + 1)
		}
		a.Msg = append(a.Msg, tars.StatMicMsg{
			Key: tars.StatMicMsgHead{MasterName: "http_client", SlaveName: "Sms.Gateway",
				InterfaceName: "/api/v1/messages/" + strconv.Itoa(i), MasterIP: "10.0.0." + strconv.Itoa(i%250),
				SlaveIP: "10.0.0.5", SlavePort: 8080, ReturnValue: 0, TarsVersion: "2"},
			Value: tars.StatMicMsgBody{Count: int32(1000 + i), TimeoutCount: 1, ExecCount: int32(i % 7),
				IntervalCount: ic, TotalRspTime: int64(52000 + i), MaxRspTime: 2500, MinRspTime: 1},
		})
	}
	return a
}

func request() *tars.RequestPacket {
	return &tars.RequestPacket{IVersion: tars.VersionTARS, IRequestID: 1, SServantName: tars.ServantNode,
		SFuncName: tars.FuncKeepAlive, ITimeout: 3000, Context: map[string]string{"node_name": "10.0.0.5"},
		Status:  map[string]string{},
		SBuffer: tars.Marshal(&tars.KeepAliveArgs{ServerInfo: tars.ServerInfo{Application: "Sms", ServerName: "Gateway", Pid: 4242}})}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// goNsPerOp runs f as a benchmark reps times and returns the median ns/op.
func goNsPerOp(reps int, f func(b *testing.B)) float64 {
	var xs []float64
	for range reps {
		r := testing.Benchmark(f)
		xs = append(xs, float64(r.T.Nanoseconds())/float64(r.N))
	}
	return median(xs)
}

func codec(reps int, interop string) error {
	batch := statBatch(100)
	batchBytes := tars.Marshal(batch)
	req := request()
	frame := tars.Frame(req)

	goStat := goNsPerOp(reps, func(b *testing.B) {
		var w tars.Buffer
		var out tars.ReportMicMsgArgs
		for b.Loop() {
			w.Reset()
			batch.Encode(&w)
			if err := tars.Unmarshal(w.Bytes(), &out); err != nil {
				b.Fatal(err)
			}
		}
	})
	goReq := goNsPerOp(reps, func(b *testing.B) {
		buf := make([]byte, 0, 256)
		var p tars.RequestPacket
		r := tars.NewReader(nil)
		for b.Loop() {
			buf = tars.AppendFrame(buf[:0], req)
			body, _, err := tars.SplitFrame(buf, 0)
			if err != nil {
				b.Fatal(err)
			}
			r.Reset(body)
			if err := p.Decode(r); err != nil {
				b.Fatal(err)
			}
		}
	})

	var node struct {
		Node          string
		Stat, Request struct {
			NsPerOp float64
			Reps    []float64
		}
	}
	nodeErr := runNode(interop, map[string]any{"stat": hex.EncodeToString(batchBytes), "request": hex.EncodeToString(frame),
		"reps": reps, "ms": 1000}, &node)

	fmt.Printf("\ncodec: encode + decode, median of %d runs (ns/op)\n", reps)
	fmt.Printf("%-36s %12s %14s %8s\n", "work", "Go tars", "@tars/stream", "ratio")
	row := func(name string, g, n float64) {
		if nodeErr != nil {
			fmt.Printf("%-36s %12.0f %14s %8s\n", name, g, "-", "-")
			return
		}
		fmt.Printf("%-36s %12.0f %14.0f %7.1fx\n", name, g, n, n/g)
	}
	row(fmt.Sprintf("StatF batch, 100 heads (%d B)", len(batchBytes)), goStat, node.Stat.NsPerOp)
	row(fmt.Sprintf("RequestPacket, framed (%d B)", len(frame)), goReq, node.Request.NsPerOp)
	if nodeErr != nil {
		fmt.Printf("(no @tars/stream figures: %v)\n", nodeErr)
	} else {
		fmt.Printf("(node %s; node reps: stat %.0f, request %.0f ns/op)\n", node.Node, node.Stat.Reps, node.Request.Reps)
	}
	return nil
}

func runNode(dir string, in any, out any) error {
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@tars", "stream")); err != nil {
		return fmt.Errorf("peer not installed: run `npm ci --prefix %s`", dir)
	}
	data, _ := json.Marshal(in)
	cmd := exec.Command("node", "bench.js")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("node bench.js: %v: %s", err, stderr.String())
	}
	return json.Unmarshal(b, out)
}

// fanout is the agent's shape in miniature: one loop goroutine owns the
// workers; a request is written to each, and the replies are gathered.
type fanout struct {
	requests chan fanRequest
}

type fanRequest struct {
	cmd   string
	reply chan string
}

func startFanout(n int) (*fanout, func(), error) {
	f := &fanout{requests: make(chan fanRequest)}
	replies := make(chan string, n)
	var conns []net.Conn
	closeAll := func() {
		for _, c := range conns {
			c.Close()
		}
	}
	for i := range n {
		agentSide, workerSide, err := socketPair()
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		conns = append(conns, agentSide, workerSide)
		go func() { // the worker: answer each command line
			r := bufio.NewReader(workerSide)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				cmd, _, _ := strings.Cut(strings.TrimSpace(line), " ")
				fmt.Fprintf(workerSide, "%d(%d): %s ok\n", i, 1000+i, cmd)
			}
		}()
		go func() { // the agent's reader of that worker's channel
			r := bufio.NewReader(agentSide)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				replies <- line
			}
		}()
	}
	done := make(chan struct{})
	go func() { // the run loop
		for {
			select {
			case <-done:
				return
			case req := <-f.requests:
				for i := range n {
					fmt.Fprintf(conns[2*i], "%s\n", req.cmd)
				}
				var b strings.Builder
				for range n {
					b.WriteString(<-replies)
				}
				req.reply <- b.String()
			}
		}
	}()
	return f, func() { close(done); closeAll() }, nil
}

func socketPair() (net.Conn, net.Conn, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	var cs [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			return nil, nil, err
		}
		cs[i] = c
	}
	return cs[0], cs[1], nil
}

func (f *fanout) Notify(ctx context.Context, cmd string) (string, error) {
	reply := make(chan string, 1)
	select {
	case f.requests <- fanRequest{cmd: cmd, reply: reply}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	select {
	case r := <-reply:
		return r, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (f *fanout) Shutdown(context.Context) error { return nil }

// admin measures the AdminF notify round trip of command.
func admin(command string, calls, fresh, workers int, endpoint string) error {
	what := fmt.Sprintf("handler fanning out to %d simulated workers", workers)
	if endpoint == "" {
		f, stop, err := startFanout(workers)
		if err != nil {
			return err
		}
		defer stop()
		srv := tars.NewAdminServer(f, tars.ServerOptions{})
		if err := srv.Listen("tcp -h 127.0.0.1 -p 0 -t 10000"); err != nil {
			return err
		}
		go srv.Serve()
		defer srv.Close()
		endpoint = srv.Endpoint()
	} else {
		what = fmt.Sprintf("a running agent at %s with %d workers answering", endpoint, workers)
	}
	proxy := tars.ServantAdmin + "@" + endpoint

	measure := func(n int, newClient bool) ([]time.Duration, error) {
		var shared *tars.Client
		if !newClient {
			c, err := tars.NewClient(proxy, tars.ClientOptions{})
			if err != nil {
				return nil, err
			}
			defer c.Close()
			shared = c
		}
		lat := make([]time.Duration, 0, n)
		var res tars.StringResult
		for i := range n + n/10 { // the first tenth warms up
			c := shared
			t0 := time.Now()
			if newClient {
				var err error
				if c, err = tars.NewClient(proxy, tars.ClientOptions{}); err != nil {
					return nil, err
				}
			}
			err := c.Invoke(context.Background(), tars.FuncNotify, &tars.NotifyArgs{Command: command}, &res)
			if newClient {
				c.Close()
			}
			if err != nil {
				return nil, err
			}
			if i >= n/10 {
				lat = append(lat, time.Since(t0))
			}
		}
		if got := strings.Count(strings.TrimSuffix(res.Ret, "\n"), "\n") + 1; got != workers {
			return nil, fmt.Errorf("reply has %d lines, want %d: %q", got, workers, res.Ret)
		}
		return lat, nil
	}
	fmt.Printf("\nAdminF notify round trip, %s (loopback)\n", what)
	fmt.Printf("%-28s %7s %9s %9s %9s %9s %10s\n", "client", "calls", "p50", "p99", "p99.9", "max", "calls/s")
	for _, c := range []struct {
		name  string
		n     int
		fresh bool
	}{{"one connection", calls, false}, {"new connection per call", fresh, true}} {
		t0 := time.Now()
		lat, err := measure(c.n, c.fresh)
		if err != nil {
			return err
		}
		wall := time.Since(t0)
		slices.Sort(lat)
		q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
		fmt.Printf("%-28s %7d %9v %9v %9v %9v %10.0f\n", c.name, len(lat), q(0.50).Round(time.Microsecond),
			q(0.99).Round(time.Microsecond), q(0.999).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond),
			float64(c.n+c.n/10)/wall.Seconds())
	}
	return nil
}
