package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// The memory scenario (-scenario memory):
//
//  1. over the limit → replacement answers: each supervisor runs 2 workers
//     with --max-memory-restart 64M; GET /grow?mb=100 makes the worker that
//     answers hold 100 MiB of touched memory and reply once it does; the
//     time runs from that reply until a probe is answered by a pid that was
//     not there before (the replacement). Failed probes in that window are
//     counted.
//  2. sampling cost (node-agent only): the agent's CPU over the idle window
//     with 32 workers, with --max-memory-restart 1G (RSS sampled every
//     second) and without (every 5 s), from schedstat.

// memoryLimit is the limit both supervisors get.
const memoryLimit = "64M"

type memResults struct {
	restart []float64 // ms, over the limit → replacement answers
	failed  []float64 // failed probes in that window
	rss     []float64 // MiB, the grown worker's RSS as it reported
}

func runMemory(ctx context.Context, o options, systems []system, ready *readyListener) int {
	res := map[string]*memResults{}
	limited := make([]system, len(systems))
	for i, s := range systems {
		res[s.name()] = &memResults{}
		lo := o
		lo.extra = []string{"--max-memory-restart", memoryLimit}
		switch s.(type) {
		case nodeAgent:
			limited[i] = nodeAgent{lo}
		case pm2:
			limited[i] = pm2{lo}
		}
	}
	failed := false
	for rep := range o.reps {
		for i := range limited {
			s := limited[(i+rep)%len(limited)]
			fmt.Fprintf(os.Stderr, "== rep %d/%d: %s, memory restart\n", rep+1, o.reps, s.name())
			if err := measureMemoryRestart(ctx, o, s, ready, res[s.name()]); err != nil {
				fmt.Fprintf(os.Stderr, "nabench: %s: %v\n", s.name(), err)
				failed = true
			}
			if ctx.Err() != nil {
				fmt.Fprintln(os.Stderr, "nabench: interrupted:", context.Cause(ctx))
				return 1
			}
		}
	}
	var withLimit, without []float64
	for _, s := range systems {
		if _, ok := s.(nodeAgent); !ok {
			continue
		}
		for rep := range o.reps {
			for _, extra := range [][]string{{"--max-memory-restart", "1G"}, nil} {
				lo := o
				lo.extra = extra
				fmt.Fprintf(os.Stderr, "== rep %d/%d: node-agent, 32 workers idle %v, %v\n", rep+1, o.reps, o.idle, extra)
				pct, err := idleCPU32(ctx, o, nodeAgent{lo}, ready)
				if err != nil {
					fmt.Fprintf(os.Stderr, "nabench: sampling cost: %v\n", err)
					failed = true
					continue
				}
				if extra != nil {
					withLimit = append(withLimit, pct)
				} else {
					without = append(without, pct)
				}
			}
		}
	}
	reportMemory(os.Stdout, o, res, withLimit, without)
	if failed {
		return 1
	}
	return 0
}

func measureMemoryRestart(ctx context.Context, o options, s system, ready *readyListener, r *memResults) error {
	inst, known, err := launchAnswered(ctx, o, s, ready, 2)
	if err != nil {
		return err
	}
	defer inst.stop()
	port := inst.port
	pid, rss, t0, err := grow(port, 100)
	if err != nil {
		return err
	}
	if _, ok := known[pid]; !ok {
		return fmt.Errorf("grow answered by pid %d, not a known worker", pid)
	}
	var got answer
	nfail, err := pollUntil(ctx, port, o.pollers, 90*time.Second, func(a answer) bool {
		if _, ok := known[a.pid]; ok {
			return false
		}
		got = a
		return true
	})
	if err != nil {
		return fmt.Errorf("no replacement answered: %w", err)
	}
	d := got.at.Sub(t0)
	r.restart = append(r.restart, ms(d))
	r.failed = append(r.failed, float64(nfail))
	r.rss = append(r.rss, float64(rss)/(1<<20))
	fmt.Fprintf(os.Stderr, "   pid %d at %.0f MiB → replacement %d answered after %.0f ms, %d probes failed\n", pid, float64(rss)/(1<<20), got.pid, ms(d), nfail)
	return nil
}

// grow asks a worker to hold mb MiB; it returns the worker's pid, its RSS
// as it reported and when the answer arrived.
func grow(port, mb int) (pid int, rss int64, at time.Time, err error) {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return 0, 0, at, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "GET /grow?mb=%d HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", mb)
	b, err := io.ReadAll(c)
	at = time.Now()
	if err != nil {
		return 0, 0, at, err
	}
	s := string(b)
	i := strings.Index(s, "grown pid=")
	if i < 0 {
		return 0, 0, at, fmt.Errorf("grow: answer %q", s)
	}
	f := strings.Fields(s[i:])
	if len(f) < 3 {
		return 0, 0, at, fmt.Errorf("grow: answer %q", s)
	}
	pid, _ = strconv.Atoi(strings.TrimPrefix(f[1], "pid="))
	rss, _ = strconv.ParseInt(strings.TrimPrefix(f[2], "rss="), 10, 64)
	return pid, rss, at, nil
}

// idleCPU32 starts 32 workers, waits until all answered and 1 s more, and
// returns the supervisor's CPU use over the idle window, from schedstat.
func idleCPU32(ctx context.Context, o options, s system, ready *readyListener) (float64, error) {
	inst, _, err := launchAnswered(ctx, o, s, ready, 32)
	if err != nil {
		return 0, err
	}
	defer inst.stop()
	if err := sleep(ctx, time.Second); err != nil {
		return 0, err
	}
	ns0, w0 := schedNS(inst.sup), time.Now()
	if err := sleep(ctx, o.idle); err != nil {
		return 0, err
	}
	ns1, wall := schedNS(inst.sup), time.Since(w0)
	pct := float64(ns1-ns0) / float64(wall.Nanoseconds()) * 100
	fmt.Fprintf(os.Stderr, "   idle cpu %.4f %% over %.1f s\n", pct, wall.Seconds())
	return pct, nil
}

func reportMemory(w io.Writer, o options, res map[string]*memResults, withLimit, without []float64) {
	na, p := res["node-agent"], res["pm2"]
	if na == nil {
		na = &memResults{}
	}
	if p == nil {
		p = &memResults{}
	}
	fmt.Fprintf(w, "\nmemory restarts (--max-memory-restart %s, 2 workers, one grown to 100 MiB): median (min–max, n); %d reps\n\n", memoryLimit, o.reps)
	fmt.Fprintln(w, "| metric | node-agent | PM2 | PM2 / node-agent | goal (node-agent) |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	goal := "≤ 2000"
	if len(na.restart) > 0 {
		if median(na.restart) <= 2000 {
			goal += " ✓"
		} else {
			goal += " ✗"
		}
	}
	fmt.Fprintf(w, "| over the limit → replacement answers (ms) | %s | %s | %s | %s |\n", cell(na.restart, 0), cell(p.restart, 0), ratio(na.restart, p.restart), goal)
	fmt.Fprintf(w, "| probes failed in those windows (total) | %.0f | %.0f | | 0 |\n", sum(na.failed), sum(p.failed))
	fmt.Fprintf(w, "| grown worker's RSS (MiB) | %s | %s | | |\n", cell(na.rss, 0), cell(p.rss, 0))
	if len(withLimit) > 0 {
		goal := "≤ 0.2"
		if median(withLimit) <= 0.2 {
			goal += " ✓"
		} else {
			goal += " ✗"
		}
		fmt.Fprintf(w, "| agent CPU, 32 idle workers, RSS sampled every 1 s (%%) | %s | | | %s |\n", cell(withLimit, 4), goal)
		fmt.Fprintf(w, "| the same without a limit (every 5 s) (%%) | %s | | | |\n", cell(without, 4))
	}
	fmt.Fprintf(w, "\nraw: node-agent restart ms [%s]; PM2 restart ms [%s]; cpu with limit %% [%s]; without [%s]\n",
		fmtList(na.restart), fmtList(p.restart), fmtList(withLimit), fmtList(without))
}
