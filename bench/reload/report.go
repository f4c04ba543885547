package main

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// result is one wrk run.
type result struct {
	system, client string
	rep            int
	reload         bool
	wrk            wrkResult
	reloadTook     time.Duration
	workers        int // workers before the run
	replaced       int // of them, gone after it
	note           string
}

func (r result) kind() string {
	if r.reload {
		return "reload"
	}
	return "steady"
}

func ms(us int64) string { return fmt.Sprintf("%.2f", float64(us)/1000) }

func (r result) print() {
	w := r.wrk
	took, replaced := "-", "-"
	if r.reload {
		took = fmt.Sprintf("%.2f", r.reloadTook.Seconds())
		replaced = fmt.Sprintf("%d/%d", r.replaced, r.workers)
	}
	line := fmt.Sprintf("%-10s %-9s %-7s %3d %7d %6d %-34s %8s %8s %8s %9s %s",
		r.system, r.client, r.kind(), r.rep, w.Requests, w.failed(),
		fmt.Sprintf("(%d/%d/%d/%d/%d)", w.Connect, w.Read, w.Write, w.Timeout, w.Status),
		ms(w.P50US), ms(w.P99US), ms(w.MaxUS), took, replaced)
	if r.note != "" {
		line += "  ! " + r.note
	}
	fmt.Println(line)
}

// summarize prints, per system and client, the failed requests of every
// run and the medians of the latencies, steady against reload.
func summarize(o options, all []result) {
	fmt.Println()
	fmt.Println("summary (medians over the repetitions; failed = socket errors + non-2xx, per run):")
	fmt.Printf("%-10s %-9s %-22s %-22s %-26s %-26s %-8s %s\n",
		"system", "client", "failed steady", "failed reload", "steady p50/p99/max ms", "reload p50/p99/max ms", "p99 x", "reload s")
	for _, sys := range strings.Split(o.systems, ",") {
		for _, c := range strings.Split(o.clients, ",") {
			var steady, reload []result
			for _, r := range all {
				if r.system != sys || r.client != c {
					continue
				}
				if r.reload {
					reload = append(reload, r)
				} else {
					steady = append(steady, r)
				}
			}
			if len(steady)+len(reload) == 0 {
				continue
			}
			sp99, rp99 := median(steady, p99), median(reload, p99)
			ratio := "-"
			if sp99 > 0 && rp99 > 0 {
				ratio = fmt.Sprintf("%.2f", float64(rp99)/float64(sp99))
			}
			fmt.Printf("%-10s %-9s %-22s %-22s %-26s %-26s %-8s %s\n", sys, c,
				failures(steady), failures(reload), latencies(steady), latencies(reload), ratio,
				fmt.Sprintf("%.2f (max %.2f)", time.Duration(median(reload, took)).Seconds(), time.Duration(maximum(reload, took)).Seconds()))
			for _, r := range reload {
				if r.note != "" {
					fmt.Printf("    rep %d: %s\n", r.rep, r.note)
				}
			}
		}
	}
}

func p99(r result) int64 { return r.wrk.P99US }

func took(r result) int64 { return int64(r.reloadTook) }

// maximum of f over rs; 0 for none.
func maximum(rs []result, f func(result) int64) int64 {
	var m int64
	for _, r := range rs {
		m = max(m, f(r))
	}
	return m
}

func failures(rs []result) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, fmt.Sprint(r.wrk.failed()))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func latencies(rs []result) string {
	if len(rs) == 0 {
		return "-"
	}
	return ms(median(rs, func(r result) int64 { return r.wrk.P50US })) + " / " +
		ms(median(rs, p99)) + " / " + ms(median(rs, func(r result) int64 { return r.wrk.MaxUS }))
}

// median of f over rs; 0 for none.
func median(rs []result, f func(result) int64) int64 {
	if len(rs) == 0 {
		return 0
	}
	v := make([]int64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
