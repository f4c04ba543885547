package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nodeagent/node-agent/internal/agent"
	"github.com/nodeagent/node-agent/internal/control"
	"github.com/nodeagent/node-agent/internal/plural"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

const (
	// sparkWidth is how many samples a sparkline shows.
	sparkWidth = 14
	// monitLogKeep is how many log lines monit keeps to show.
	monitLogKeep = 100
	// Terminal escapes: alternate screen, cursor, clearing.
	escEnter     = "\x1b[?1049h\x1b[?25l"
	escLeave     = "\x1b[?25h\x1b[?1049l"
	escHome      = "\x1b[H"
	escClearLine = "\x1b[K"
	escClearDown = "\x1b[J"
)

func monitCommand() *cli.Command {
	return &cli.Command{
		Name:      "monit",
		Usage:     "live view of an agent: per-worker CPU and RSS with sparklines, restarts, state, last log lines (q quits)",
		UsageText: "node-agent monit [NAME] [--interval D]",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "interval", Value: time.Second, Usage: "refresh every `D`"},
		},
		BashComplete: completeNames,
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 1 {
				return usagef("monit", "takes at most one NAME")
			}
			if c.Duration("interval") < 100*time.Millisecond {
				return usagef("monit", "--interval %v is below 100ms", c.Duration("interval"))
			}
			t, err := findTarget("monit", nameArg(c, 0))
			if err != nil {
				return err
			}
			return runMonit(c.Context, t, c.Duration("interval"), os.Stdin, c.App.Writer)
		},
	}
}

// monitView is what monit shows; one goroutine (runMonit's) owns it.
type monitView struct {
	name    string
	status  agent.Status
	err     error // the last status call's error, nil once it answers again
	samples map[int]*workerSamples
	logs    []string
	now     time.Time
}

// workerSamples are the last CPU and RSS samples of a slot's worker.
type workerSamples struct {
	pid int
	cpu []float64
	rss []float64
}

func (v *monitView) addStatus(st agent.Status) {
	v.status, v.err = st, nil
	seen := map[int]bool{}
	for _, w := range st.Workers {
		if w.Role != "current" {
			continue
		}
		seen[w.ID] = true
		s := v.samples[w.ID]
		if s == nil || s.pid != w.PID {
			// A new worker in the slot starts a new history.
			s = &workerSamples{pid: w.PID}
			v.samples[w.ID] = s
		}
		if w.RSS == 0 {
			continue // not sampled yet
		}
		s.cpu = appendSample(s.cpu, w.CPU)
		s.rss = appendSample(s.rss, float64(w.RSS))
	}
	for id := range v.samples {
		if !seen[id] {
			delete(v.samples, id)
		}
	}
}

func appendSample(s []float64, v float64) []float64 {
	s = append(s, v)
	return s[max(0, len(s)-sparkWidth):]
}

func (v *monitView) addLogs(text string) {
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		v.logs = append(v.logs, printable(line))
	}
	v.logs = v.logs[max(0, len(v.logs)-monitLogKeep):]
}

// runMonit shows the live view of t on out until q (or ctx, SIGINT, SIGTERM).
func runMonit(ctx context.Context, t target, interval time.Duration, in *os.File, out io.Writer) error {
	ctx, cancel := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer cancel()
	size := func() (int, int) { return 80, 24 }
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		size = func() (int, int) {
			w, h, err := term.GetSize(int(f.Fd()))
			if err != nil || w < 20 || h < 8 {
				return 80, 24
			}
			return w, h
		}
	}
	keys := make(chan byte, 16)
	if term.IsTerminal(int(in.Fd())) {
		old, err := term.MakeRaw(int(in.Fd()))
		if err != nil {
			return failf("monit", "terminal raw mode: %v", err)
		}
		defer term.Restore(int(in.Fd()), old)
		go readKeys(in, keys)
	}
	fmt.Fprint(out, escEnter)
	defer fmt.Fprint(out, escLeave)

	statuses := make(chan statusResult, 1)
	go pollStatus(ctx, t, interval, statuses)
	lines := make(chan string, 64)
	go streamLogs(ctx, t, interval, lines)
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	defer signal.Stop(winch)

	v := &monitView{name: t.name, samples: map[int]*workerSamples{}}
	for {
		select {
		case <-ctx.Done():
			return nil
		case k := <-keys:
			if k == 'q' || k == 'Q' || k == 3 { // 3: ^C in raw mode
				return nil
			}
		case r := <-statuses:
			if r.err != nil {
				v.err = r.err
			} else {
				v.addStatus(r.status)
			}
		case text := <-lines:
			v.addLogs(text)
			continue // drawn with the next status
		case <-winch:
		}
		v.now = time.Now()
		w, h := size()
		fmt.Fprint(out, renderMonit(v, w, h))
	}
}

type statusResult struct {
	status agent.Status
	err    error
}

// pollStatus asks t for its status every interval.
func pollStatus(ctx context.Context, t target, interval time.Duration, results chan<- statusResult) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		var r statusResult
		callCtx, cancel := context.WithTimeout(ctx, callTimeout)
		text, err := control.Call(callCtx, t.path, control.Request{Op: control.OpStatus})
		cancel()
		if err == nil {
			err = json.Unmarshal([]byte(text), &r.status)
		}
		r.err = err
		select {
		case results <- r:
		case <-ctx.Done():
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// streamLogs follows t's logs (service and agent), reconnecting every
// interval while the agent is away.
func streamLogs(ctx context.Context, t target, interval time.Duration, lines chan<- string) {
	req := control.Request{Source: control.SourceAll, Lines: 20, Follow: true}
	for ctx.Err() == nil {
		control.Logs(ctx, t.path, req, func(text string) error {
			select {
			case lines <- text:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		req.Lines = 0 // the past was shown already
		select {
		case <-time.After(interval):
		case <-ctx.Done():
		}
	}
}

// readKeys sends the bytes typed on in until it fails.
func readKeys(in io.Reader, keys chan<- byte) {
	buf := make([]byte, 16)
	for {
		n, err := in.Read(buf)
		for _, b := range buf[:n] {
			keys <- b
		}
		if err != nil {
			return
		}
	}
}

// renderMonit draws v on a w×h terminal: one frame, from the top left,
// every line cleared to its end.
func renderMonit(v *monitView, w, h int) string {
	var rows []string
	st := v.status
	head := fmt.Sprintf("node-agent monit · %s", v.name)
	if st.PID != 0 {
		head += fmt.Sprintf(" · pid %d · %s %d/%d ready · up %s", st.PID, agentState(st), st.Ready(), st.Instances, formatUptime(v.now.Sub(st.Started)))
	}
	rows = append(rows, head)
	sub := fmt.Sprintf("restarts: %s · exceptions: %d", formatRestarts(st.Restarts), st.Exceptions)
	if v.err != nil {
		sub = "agent not answering: " + v.err.Error()
	}
	rows = append(rows, sub, "")
	rows = append(rows, fmt.Sprintf("%-4s %-7s %-9s %7s %3s %6s %-*s %7s %-*s", "SLOT", "PID", "STATE", "UPTIME", "RST", "CPU%", sparkWidth, "cpu", "RSS", sparkWidth, "rss"))
	// Keep at least 3 log lines and the footer.
	maxWorkers := max(1, h-len(rows)-2-3-1)
	workers := 0
	for _, ws := range st.Workers {
		if workers == maxWorkers {
			rows = append(rows, fmt.Sprintf("… %s more", plural.Workers(len(st.Workers)-workers)))
			break
		}
		cpu, rss := "", ""
		if s := v.samples[ws.ID]; s != nil && ws.Role == "current" {
			cpu, rss = sparkline(s.cpu, 100), sparkline(s.rss, 0)
		}
		state := ws.State
		if ws.Role != "current" {
			state += "*"
		}
		rows = append(rows, fmt.Sprintf("%-4d %-7d %-9s %7s %3d %6.1f %-*s %7s %-*s", ws.ID, ws.PID, state,
			formatUptime(time.Duration(ws.Uptime*float64(time.Second))), ws.Restarts, ws.CPU, sparkWidth, cpu, formatBytes(ws.RSS), sparkWidth, rss))
		workers++
	}
	rows = append(rows, "", "── last log lines "+strings.Repeat("─", max(0, w-18)))
	logRows := max(0, h-len(rows)-1)
	logs := v.logs[max(0, len(v.logs)-logRows):]
	rows = append(rows, logs...)
	for len(rows) < h-1 {
		rows = append(rows, "")
	}
	rows = append(rows, fmt.Sprintf("q quits · %s · * = replacement or leaving", v.now.Format("15:04:05")))
	var b strings.Builder
	b.WriteString(escHome)
	for i, r := range rows {
		b.WriteString(truncate(r, w))
		b.WriteString(escClearLine)
		if i < len(rows)-1 {
			b.WriteString("\r\n")
		}
	}
	b.WriteString(escClearDown)
	return b.String()
}

// sparkline draws samples as block characters, scaled to top (or to the
// largest sample when top is 0 or smaller than it).
func sparkline(samples []float64, top float64) string {
	const bars = "▁▂▃▄▅▆▇█"
	for _, s := range samples {
		top = max(top, s)
	}
	var b strings.Builder
	levels := []rune(bars)
	for _, s := range samples {
		i := 0
		if top > 0 {
			i = min(len(levels)-1, int(s/top*float64(len(levels)-1)+0.5))
		}
		b.WriteRune(levels[i])
	}
	return b.String()
}

// truncate cuts s to w runes (one column each: the view is ASCII plus box
// and block characters).
func truncate(s string, w int) string {
	if utf8.RuneCountInString(s) <= w {
		return s
	}
	return string([]rune(s)[:w])
}

// printable replaces control characters (escapes in a worker's output
// would move the cursor) with spaces.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
