package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nodeagent/node-agent/internal/agent"
	"github.com/nodeagent/node-agent/internal/control"
	"github.com/urfave/cli/v2"
)

func lsCommand() *cli.Command {
	return &cli.Command{
		Name:      "ls",
		Usage:     "list every agent of this user on the host, one line each",
		UsageText: "node-agent ls",
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return usagef("ls", "takes no arguments")
			}
			return listAgents(c.Context, c.App.Writer)
		},
	}
}

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:         "status",
		Usage:        "show an agent's workers: slot, pid, state, uptime, restarts, RSS, CPU",
		UsageText:    "node-agent status [NAME] [--json]",
		Flags:        []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print the agent.status JSON, for scripts"}},
		BashComplete: completeNames,
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 1 {
				return usagef("status", "takes at most one NAME")
			}
			t, err := findTarget("status", nameArg(c, 0))
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context, callTimeout)
			defer cancel()
			text, err := t.call(ctx, "status", control.Request{Op: control.OpStatus})
			if err != nil {
				return err
			}
			if c.Bool("json") {
				fmt.Fprintln(c.App.Writer, text)
				return nil
			}
			var st agent.Status
			if err := json.Unmarshal([]byte(text), &st); err != nil {
				return failf("status", "agent %s: unreadable status: %v", t.name, err)
			}
			writeStatus(c.App.Writer, st, time.Now())
			return nil
		},
	}
}

// listAgents prints one line per agent with a socket in the control dir.
func listAgents(ctx context.Context, w io.Writer) error {
	dir := control.Dir()
	names, err := control.Names(dir)
	if err != nil {
		return failf("ls", "%v", err)
	}
	if len(names) == 0 {
		fmt.Fprintf(w, "no agent runs (no control socket in %s)\n", dir)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPID\tREADY\tUPTIME\tRESTARTS\tSTATE")
	for _, n := range names {
		fmt.Fprintln(tw, agentLine(ctx, dir, n))
	}
	return tw.Flush()
}

// agentLine is the ls line of the agent named name.
func agentLine(ctx context.Context, dir, name string) string {
	held, pid := control.Held(dir, name)
	if !held {
		return fmt.Sprintf("%s\t%d\t-\t-\t-\tgone (stale socket, removed when an agent of that name starts)", name, pid)
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	text, err := control.Call(ctx, control.Path(dir, name), control.Request{Op: control.OpStatus})
	var st agent.Status
	if err == nil {
		err = json.Unmarshal([]byte(text), &st)
	}
	if err != nil {
		return fmt.Sprintf("%s\t%d\t-\t-\t-\tnot answering: %v", name, pid, err)
	}
	restarts := 0
	for _, n := range st.Restarts {
		restarts += n
	}
	return fmt.Sprintf("%s\t%d\t%d/%d\t%s\t%d\t%s", name, st.PID, st.Ready(), st.Instances,
		formatUptime(time.Since(st.Started)), restarts, agentState(st))
}

// agentState is one word for the agent as a whole.
func agentState(st agent.Status) string {
	switch {
	case st.Stopping:
		return "stopping"
	case st.Reloading:
		return "reloading"
	case st.Ready() == st.Instances:
		return "running"
	}
	return "starting"
}

// writeStatus prints st as a header and a table of workers.
func writeStatus(w io.Writer, st agent.Status, now time.Time) {
	fmt.Fprintf(w, "%s  pid %d  version %s  %s  %d/%d ready  up %s\n", st.Name, st.PID, st.Version,
		agentState(st), st.Ready(), st.Instances, formatUptime(now.Sub(st.Started)))
	fmt.Fprintf(w, "restarts: %s  exceptions: %d\n", formatRestarts(st.Restarts), st.Exceptions)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SLOT\tPID\tSTATE\tROLE\tUPTIME\tRESTARTS\tRSS\tCPU\t")
	for _, ws := range st.Workers {
		restarts := fmt.Sprint(ws.Restarts)
		if ws.Restarts > 0 && len(ws.RestartsBy) > 0 {
			restarts += " (" + formatRestarts(ws.RestartsBy) + ")"
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%s\t%.1f%%\t\n", ws.ID, ws.PID, ws.State, ws.Role,
			formatUptime(time.Duration(ws.Uptime*float64(time.Second))), restarts, formatBytes(ws.RSS), ws.CPU)
	}
	tw.Flush()
}

// formatRestarts lists restarts by cause: "crash 1, memory 2", or "none".
func formatRestarts(byCause map[string]int) string {
	var parts []string
	for cause, n := range byCause {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", cause, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// formatUptime is a duration in at most two units: 45s, 3m07s, 2h05m, 3d04h.
func formatUptime(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s < 0:
		return "0s"
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}

// formatBytes is a size in base 1024 with one decimal: 512B, 12.3M, 1.1G.
func formatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	v, suffix := float64(n), "KMGTPE"
	i := -1
	for v >= unit && i < len(suffix)-1 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f%c", v, suffix[i])
}
