package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nodeagent/node-agent/internal/agent"
	"github.com/nodeagent/node-agent/internal/control"
	"github.com/urfave/cli/v2"
)

// steerTimeout is how long reload and scale wait by default: a rolling
// reload replaces every worker, each within its ready timeout.
const steerTimeout = 5 * time.Minute

var timeoutFlag = &cli.DurationFlag{Name: "timeout", Value: steerTimeout, Usage: "how long to wait for the agent's answer"}

func reloadCommand() *cli.Command {
	return &cli.Command{
		Name:         "reload",
		Usage:        "replace every worker one by one with no lost request (SIGHUP); answers when done",
		UsageText:    "node-agent reload [NAME] [--timeout D]",
		Flags:        []cli.Flag{timeoutFlag},
		BashComplete: completeNames,
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 1 {
				return usagef("reload", "takes at most one NAME")
			}
			return steer(c, "reload", nameArg(c, 0), agent.CmdReload)
		},
	}
}

func scaleCommand() *cli.Command {
	return &cli.Command{
		Name:         "scale",
		Usage:        "run N workers from now on (starts or stops the difference)",
		UsageText:    "node-agent scale [NAME] N [--timeout D]",
		Flags:        []cli.Flag{timeoutFlag},
		BashComplete: completeNames,
		Action: func(c *cli.Context) error {
			var name, n string
			switch c.Args().Len() {
			case 1:
				n = c.Args().Get(0)
			case 2:
				name, n = c.Args().Get(0), c.Args().Get(1)
			default:
				return usagef("scale", "want [NAME] N")
			}
			if v, err := strconv.Atoi(n); err != nil || v < 1 {
				return usagef("scale", "N %q is not a number of workers (1 or more)", n)
			}
			return steer(c, "scale", name, agent.CmdScale+" "+n)
		},
	}
}

func stopCommand() *cli.Command {
	return &cli.Command{
		Name:         "stop",
		Usage:        "stop an agent gracefully, as SIGTERM does",
		UsageText:    "node-agent stop [NAME]",
		BashComplete: completeNames,
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 1 {
				return usagef("stop", "takes at most one NAME")
			}
			t, err := findTarget("stop", nameArg(c, 0))
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context, callTimeout)
			defer cancel()
			text, err := t.call(ctx, "stop", control.Request{Op: control.OpShutdown})
			if err != nil {
				return err
			}
			fmt.Fprintln(c.App.Writer, text)
			return nil
		},
	}
}

// steer sends an admin command to the agent named name (or the only one)
// and prints its answer.
func steer(c *cli.Context, command, name, admin string) error {
	t, err := findTarget(command, name)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
	defer cancel()
	text, err := t.call(ctx, command, control.Request{Op: control.OpCommand, Command: admin})
	if err != nil {
		return err
	}
	fmt.Fprintln(c.App.Writer, text)
	return nil
}
