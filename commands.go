package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/nodeagent/node-agent/internal/agent"
	"github.com/nodeagent/node-agent/internal/control"
	"github.com/urfave/cli/v2"
)

// Exit codes of the operator commands, as for ctl: 1 when the agent
// answers an error or cannot be reached, 2 when the invocation must change.
const (
	exitFailure = 1
	exitUsage   = 2
)

// callTimeout bounds a quick control call (status, info); reload and
// scale wait longer (--timeout).
const callTimeout = 5 * time.Second

// commandNames are the first words that run a command instead of an agent.
func commandNames() []string {
	var names []string
	for _, c := range commands(version) {
		names = append(names, c.Name)
	}
	return append(names, "help")
}

// isCommand reports whether args run a command (or the completion of one)
// rather than an agent.
func isCommand(args []string) bool {
	if len(args) == 0 {
		return false
	}
	if args[len(args)-1] == "--generate-bash-completion" {
		return true
	}
	return slices.Contains(commandNames(), args[0])
}

// commands are every command of node-agent besides running an agent.
func commands(version string) []*cli.Command {
	cmds := []*cli.Command{
		lsCommand(),
		statusCommand(),
		reloadCommand(),
		scaleCommand(),
		stopCommand(),
		upgradeCommand(),
		logsCommand(),
		monitCommand(),
		unitCommand(),
		ctlCommand(),
		deployCommand(version),
		completionCommand(),
	}
	for _, c := range cmds {
		c.HideHelpCommand = true
		if c.OnUsageError == nil {
			name := c.Name
			// A bad flag is one line naming it, not the help text.
			c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
				return usagef(name, "%v", err)
			}
		}
	}
	return cmds
}

// commandsApp is the urfave/cli application of the commands.
func commandsApp(self string, stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:                 self,
		Usage:                "supervise the workers of a Go service, see and steer running agents, package services",
		UsageText:            self + " COMMAND [options] [args...]   (" + self + " ENTRY [options] runs an agent: " + self + " --help)",
		Version:              version,
		Writer:               stdout,
		ErrWriter:            stderr,
		Commands:             commands(version),
		EnableBashCompletion: true,
		HideHelpCommand:      false,
		ExitErrHandler: func(*cli.Context, error) {
			// Exit codes are decided by runCommands, never by os.Exit in the library.
		},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return cli.Exit(err.Error(), exitUsage)
		},
	}
}

// runCommands runs a command; args start with its name. It returns the
// exit code: the command's, or 2 for a usage error.
func runCommands(self string, args []string, stdout, stderr io.Writer) int {
	app := commandsApp(self, stdout, stderr)
	completing := args[len(args)-1] == "--generate-bash-completion"
	if cmd := app.Command(args[0]); cmd != nil && !cmd.SkipFlagParsing && len(cmd.Subcommands) == 0 && !completing {
		args = append([]string{args[0]}, flagsFirst(cmd, args[1:])...)
	}
	err := app.Run(append([]string{self}, args...))
	if err == nil {
		return 0
	}
	var coder cli.ExitCoder
	if errors.As(err, &coder) {
		if msg := coder.Error(); msg != "" {
			fmt.Fprintln(stderr, msg)
		}
		return coder.ExitCode()
	}
	fmt.Fprintf(stderr, "%s: %v\n", self, err)
	return exitUsage
}

// flagsFirst moves cmd's flags (with their values) before the positional
// arguments, so that flags may follow NAME (urfave/cli stops at the first
// positional argument). Everything after "--" stays positional.
func flagsFirst(cmd *cli.Command, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i:]...)
			i = len(args)
		case len(a) > 1 && a[0] == '-':
			flags = append(flags, a)
			if !strings.Contains(a, "=") && takesValue(cmd, strings.TrimLeft(a, "-")) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(flags, pos...)
}

// takesValue reports whether cmd has a flag called name that is not a bool.
func takesValue(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		if !slices.Contains(f.Names(), name) {
			continue
		}
		_, isBool := f.(*cli.BoolFlag)
		return !isBool
	}
	return false
}

// printCommands lists the commands, one line each, after the agent's help.
func printCommands(w io.Writer) {
	fmt.Fprintln(w, "\nCOMMANDS (node-agent help COMMAND for one):")
	for _, c := range commands(version) {
		fmt.Fprintf(w, "   %-10s %s\n", c.Name, c.Usage)
	}
	fmt.Fprintf(w, "   %-10s %s\n", "help", "show the help of a command")
	fmt.Fprintln(w, "\nThe agent serves ls/status/reload/scale/stop/logs/monit on its control socket in "+control.Dir()+".")
}

// usagef is an invocation error of command (exit 2).
func usagef(command, format string, args ...any) error {
	return cli.Exit(fmt.Sprintf("node-agent %s: %s (see node-agent help %s)", command, fmt.Sprintf(format, args...), command), exitUsage)
}

// failf is a failure of command (exit 1).
func failf(command, format string, args ...any) error {
	return cli.Exit(fmt.Sprintf("node-agent %s: %s", command, fmt.Sprintf(format, args...)), exitFailure)
}

// target is the agent an operator command talks to.
type target struct {
	name, path string
}

// findTarget resolves the optional NAME argument of command: the agent of
// that name, or the only agent running when name is empty. No agent, or
// several without a name, is an error naming what was found.
func findTarget(command, name string) (target, error) {
	dir := control.Dir()
	if name != "" {
		return target{name: name, path: control.Path(dir, name)}, nil
	}
	live, err := liveAgents(dir)
	if err != nil {
		return target{}, failf(command, "%v", err)
	}
	switch len(live) {
	case 0:
		return target{}, failf(command, "no agent runs for this user (no control socket in %s)", dir)
	case 1:
		return target{name: live[0], path: control.Path(dir, live[0])}, nil
	}
	return target{}, usagef(command, "%d agents run (%s): name one", len(live), strings.Join(live, ", "))
}

// liveAgents returns the names of the agents whose lock is held in dir.
func liveAgents(dir string) ([]string, error) {
	names, err := control.Names(dir)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	var live []string
	for _, n := range names {
		if held, _ := control.Held(dir, n); held {
			live = append(live, n)
		}
	}
	return live, nil
}

// call sends req to t and turns its errors into command failures.
func (t target) call(ctx context.Context, command string, req control.Request) (string, error) {
	text, err := control.Call(ctx, t.path, req)
	if err != nil {
		return "", t.failure(command, err)
	}
	return text, nil
}

// failure words err of a call to t as a command failure (exit 1).
func (t target) failure(command string, err error) error {
	var reply *control.ReplyError
	switch {
	case errors.As(err, &reply):
		return failf(command, "agent %s answered: %s", t.name, reply.Msg)
	case errors.Is(err, control.ErrNotRunning):
		return failf(command, "no agent named %s runs (no live control socket %s)", t.name, t.path)
	case errors.Is(err, context.DeadlineExceeded):
		return failf(command, "agent %s did not answer in time (raise --timeout for slow commands)", t.name)
	}
	return failf(command, "agent %s: %v", t.name, err)
}

// nameArg returns the optional NAME argument at position i of c.
func nameArg(c *cli.Context, i int) string { return c.Args().Get(i) }

// completeNames completes a command's flags after "-", else its NAME
// argument with the agents running. Completion runs in its own process:
// the word being completed is the one before --generate-bash-completion.
func completeNames(c *cli.Context) {
	if n := len(os.Args); n > 2 && strings.HasPrefix(os.Args[n-2], "-") {
		cli.DefaultCompleteWithFlags(c.Command)(c)
		return
	}
	live, _ := liveAgents(control.Dir())
	for _, n := range live {
		fmt.Fprintln(c.App.Writer, n)
	}
}

// ctlCommand runs a raw admin command: over TARS AdminF with --local or
// -c (ctl_cmd.go), else over the control socket of the only agent running.
func ctlCommand() *cli.Command {
	return &cli.Command{
		Name:            "ctl",
		Usage:           "send a raw admin command (agent.status, tars.setloglevel INFO, a custom one...)",
		UsageText:       strings.TrimSpace(ctlUsage) + "\n\nWithout --local or -c, the command goes to the only agent running, over its control socket.",
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			live, _ := liveAgents(control.Dir())
			if len(args) == 0 || strings.HasPrefix(args[0], "-") || len(live) == 0 {
				// TARS AdminF, or its usage error asking for an endpoint.
				if code := runCtl(args, c.App.Writer, c.App.ErrWriter); code != 0 {
					return cli.Exit("", code)
				}
				return nil
			}
			t, err := findTarget("ctl", "")
			if err != nil {
				return err
			}
			if args[0] == agent.CmdUpgrade && len(args) == 2 {
				// The agent runs elsewhere: a relative PATH is the caller's.
				cmd, err := upgradeAdmin(args[1])
				if err != nil {
					return usagef("ctl", "%v", err)
				}
				args = strings.Fields(cmd)
			}
			req := control.Request{Op: control.OpCommand, Command: strings.Join(args, " ")}
			if req.Command == "shutdown" {
				req = control.Request{Op: control.OpShutdown}
			}
			ctx, cancel := context.WithTimeout(c.Context, steerTimeout)
			defer cancel()
			text, err := t.call(ctx, "ctl", req)
			if err != nil {
				return err
			}
			if text != "" {
				fmt.Fprintln(c.App.Writer, strings.TrimSuffix(text, "\n"))
			}
			return nil
		},
	}
}
