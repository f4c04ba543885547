// Command node-agent supervises the worker processes of a Go service, the Go
// counterpart of TARS's @tars/node-agent, and packages services for release
// (node-agent deploy NAME, also run as tars-deploy NAME).
//
//	node-agent ./gateway -i 4
//
// See README.md and the doc of package agent.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/nodeagent/node-agent/internal/agent"
	"github.com/nodeagent/node-agent/internal/agent/config"
	"github.com/nodeagent/node-agent/internal/control"
)

// version is stamped at build time with -ldflags "-X main.version=V".
var version = "0.1.0-dev"

func main() {
	if agent.GuardianMode() {
		// The agent re-executed this binary to outlive it (agent/guardian.go).
		os.Exit(agent.RunGuardian())
	}
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run is main with its inputs explicit; it returns the exit code.
func run(argv []string, stdout, stderr io.Writer) int {
	self := filepath.Base(argv[0])
	args := argv[1:]
	switch {
	case self == "tars-deploy":
		return runDeployApp(self, append([]string{"deploy"}, args...), stdout, stderr)
	case len(args) == 1 && args[0] == agent.HandoverCheckFlag:
		return handoverCheck(os.Stdin, stdout)
	case len(args) == 1 && args[0] == "help":
		args = nil // the agent's help, then the commands
	case isCommand(args):
		return runCommands(self, args, stdout, stderr)
	}
	cfg, err := config.Load(args, loadOptions(self, stdout))
	switch {
	case errors.Is(err, config.ErrHelp):
		printCommands(stdout)
		return agent.ExitClean
	case errors.Is(err, config.ErrVersion):
		return agent.ExitClean
	case err != nil:
		fmt.Fprintf(stderr, "node-agent: %v\n", err)
		var usage *config.UsageError
		if errors.As(err, &usage) {
			return agent.ExitUsage
		}
		return agent.ExitInternal
	}
	return supervise(cfg, stderr)
}

// supervise runs the workers of cfg until the agent stops.
func supervise(cfg *config.Config, stderr io.Writer) int {
	// An agent upgrading in place execed this program (same pid) with
	// what it holds: its sockets are ours already.
	handover, err := agent.TakeHandover()
	if err != nil {
		fmt.Fprintf(stderr, "node-agent: upgrade in place: %v\n", err)
		return agent.ExitInternal
	}
	if cfg.HTTPAddress != "" && handover == nil {
		if err := agent.CheckAddress(cfg.HTTPAddress); err != nil {
			fmt.Fprintf(stderr, "node-agent: --http-address %s cannot be bound: %v\n", cfg.HTTPAddress, err)
			return agent.ExitUsage
		}
	}
	if err := config.CheckRunAsAccess(cfg); err != nil {
		fmt.Fprintf(stderr, "node-agent: %v\n", err)
		return agent.ExitUsage
	}
	// The control socket first: its lock keeps a second agent of the
	// same name away from the log files.
	var ln *control.Listener
	if handover != nil {
		ln, err = handover.ControlListener()
	} else {
		ln, err = control.Listen(control.Dir(), cfg.Name)
	}
	if err != nil {
		fmt.Fprintf(stderr, "node-agent: %v\n", err)
		return agent.ExitUsage
	}
	out, err := agent.OpenOutput(cfg)
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "node-agent: %v\n", err)
		return agent.ExitUsage
	}
	defer out.Close()
	signals := make(chan os.Signal, 4)
	handled := []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2}
	if os.Getpid() == 1 {
		// As PID 1 (a container's init) the kernel drops signals nobody
		// handles; SIGQUIT then stops the workers at once instead of
		// dumping the agent's goroutines.
		handled = append(handled, syscall.SIGQUIT)
	}
	signal.Notify(signals, handled...)
	defer signal.Stop(signals)
	sup, err := agent.New(cfg, out, agent.Options{Version: version, Handover: handover})
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "node-agent: %v\n", err)
		return agent.ExitUsage
	}
	defer sup.ServeControl(ln)()
	return sup.Run(context.Background(), signals)
}

// loadOptions are the options of config.Load for this binary run as self.
func loadOptions(self string, stdout io.Writer) config.LoadOptions {
	opts := config.LoadOptions{Version: version, Stdout: stdout}
	if dir, ok := packagedServiceDir(self); ok {
		// A binary renamed by deploy runs the service packaged beside it.
		opts.DefaultEntry = dir
	}
	return opts
}

// packagedServiceDir reports the directory of a service packaged by deploy
// when this binary runs under another name than node-agent with a manifest
// beside it (NAME/NAME/NAME next to NAME/NAME/node-agent.json).
func packagedServiceDir(self string) (string, bool) {
	if self == "node-agent" {
		return "", false
	}
	exe, err := os.Executable()
	if err != nil {
		return "", false
	}
	dir := filepath.Dir(exe)
	if _, err := os.Stat(filepath.Join(dir, config.ManifestName)); err != nil {
		return "", false
	}
	return dir, true
}

// runDeployApp runs the deploy command; args start with "deploy".
func runDeployApp(self string, args []string, stdout, stderr io.Writer) int {
	return runCommands(self, args, stdout, stderr)
}
