// Command smsstorebench measures the SMS gateway's Store without HTTP: -procs
// processes share one store (-store spec); each runs -clients goroutines
// calling Accept in a closed loop (distinct phones) and a Deliverer with an
// instant simulated provider, for -duration. It prints accepted/s and
// Accept's p50/p99 per process, and in total with the CPU time (user +
// system) of all the processes per accepted message: on a shared machine
// the figure the load disturbs least. -cpuprofile writes process 0's CPU
// profile. See BENCHMARKS.md (issue 13).
//
//	go build -o /tmp/ssb ./bench/cmd/smsstorebench
//	/tmp/ssb -procs 4 -clients 8      # closed loop
//	/tmp/ssb -procs 4 -rate 1000      # paced, in total
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/sms"
)

func main() {
	procs := flag.Int("procs", 4, "processes")
	clients := flag.Int("clients", 8, "closed-loop Accept callers per process")
	rate := flag.Int("rate", 0, "paced accepts/s in total instead of closed loop")
	duration := flag.Duration("duration", 5*time.Second, "length of the run")
	store := flag.String("store", "", "store spec; empty: sqlite in a temp dir")
	child := flag.Int("child", -1, "internal: run as child N")
	cpuprofile := flag.String("cpuprofile", "", "child 0 writes its CPU profile here")
	deliver := flag.Bool("deliver", true, "run a deliverer in each process")
	leaseAtAccept := flag.Bool("lease-at-accept", true, "lease a message to its process's deliverer in the accept's commit, as the gateway does (false: every message is claimed)")
	flag.Parse()
	if *child >= 0 {
		os.Exit(runChild(*child, *store, *clients, *rate, *duration, *cpuprofile, *deliver, *leaseAtAccept))
	}
	spec := *store
	if spec == "" {
		dir, err := os.MkdirTemp("", "smsstorebench-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer os.RemoveAll(dir)
		spec = "sqlite:" + dir + "/sms.db"
	}
	// open once so the schema exists
	var st sms.Store
	var err error
	st, err = sms.OpenStore(context.Background(), spec, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	st.Close()
	var outs []*strings.Builder
	var cmds []*exec.Cmd
	for i := range *procs {
		var b strings.Builder
		perRate := 0
		if *rate > 0 {
			perRate = *rate / *procs
		}
		cmd := exec.Command(os.Args[0], "-child", strconv.Itoa(i), "-store", spec, "-clients", strconv.Itoa(*clients),
			"-rate", strconv.Itoa(perRate), "-duration", duration.String(), "-cpuprofile", *cpuprofile, "-deliver="+strconv.FormatBool(*deliver), "-lease-at-accept="+strconv.FormatBool(*leaseAtAccept))
		cmd.Stdout, cmd.Stderr = &b, os.Stderr
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		outs, cmds = append(outs, &b), append(cmds, cmd)
	}
	total := 0.0
	var cpu time.Duration
	var p50s, p99s []float64
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			fmt.Fprintf(os.Stderr, "child %d: %v\n", i, err)
		}
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		var n, p50, p99 float64
		fmt.Sscan(outs[i].String(), &n, &p50, &p99)
		fmt.Printf("proc %d: %s", i, outs[i].String())
		total += n
		p50s, p99s = append(p50s, p50), append(p99s, p99)
	}
	fmt.Printf("total accepted %.0f/s, p50 %.2f ms, p99 max %.2f ms, CPU %.0f µs per accept (load %s)\n", total, med(p50s), slices.Max(p99s),
		float64(cpu.Microseconds())/(total*duration.Seconds()), loadavg())
}

func med(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func runChild(id int, spec string, clients, rate int, d time.Duration, cpuprofile string, deliver, leaseAtAccept bool) int {
	ctx := context.Background()
	st, err := sms.OpenStore(ctx, spec, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dl := sms.NewDeliverer(sms.DelivererOptions{Store: st, Provider: sms.NewStubProvider(0, 0, 0, nil), Log: log, WorkerID: id})
	if deliver {
		dl.Start()
		defer dl.Stop(ctx)
	}
	if cpuprofile != "" && id == 0 {
		f, err := os.Create(cpuprofile)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	var seq atomic.Int64
	seq.Store(int64(id) * 1_000_000_000)
	var mu sync.Mutex
	var lat []time.Duration
	var n atomic.Int64
	accept := func() {
		k := seq.Add(1)
		now := time.Now()
		m := sms.Message{ID: sms.NewID(), Phone: fmt.Sprintf("+86%011d", k), Text: "bench", Status: sms.StatusQueued, Worker: id, CreatedAt: now, UpdatedAt: now}
		var lease sms.LeaseRequest
		reserved := false
		if deliver && leaseAtAccept {
			lease, reserved = dl.Reserve()
		}
		res, err := st.Accept(ctx, sms.AcceptRequest{Message: m, PhoneKey: m.Phone[1:], Fingerprint: "f", RateLimit: 3, RateWindow: time.Minute, KeyTTL: time.Hour, Lease: lease})
		el := time.Since(now)
		switch {
		case reserved && err == nil && res.Lease != nil:
			dl.Adopt(*res.Lease)
		case reserved:
			dl.Unreserve()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return
		}
		if deliver && res.Lease == nil {
			dl.Wake()
		}
		n.Add(1)
		mu.Lock()
		lat = append(lat, el)
		mu.Unlock()
	}
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	if rate > 0 {
		iv := time.Second / time.Duration(rate)
		for i := 0; ; i++ {
			at := start.Add(time.Duration(i) * iv)
			if at.After(end) {
				break
			}
			time.Sleep(time.Until(at))
			wg.Add(1)
			go func() { defer wg.Done(); accept() }()
		}
	} else {
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(end) {
					accept()
				}
			}()
		}
	}
	wg.Wait()
	el := time.Since(start)
	slices.Sort(lat)
	if len(lat) == 0 {
		fmt.Println("0 0 0")
		return 1
	}
	fmt.Printf("%.0f %.2f %.2f\n", float64(n.Load())/el.Seconds(), ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]))
	return 0
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
