package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/nodeagent/node-agent/internal/agent"
	"github.com/nodeagent/node-agent/internal/agent/config"
	"github.com/urfave/cli/v2"
)

// handoverCheck is the new binary's side of an upgrade in place
// (agent.HandoverCheckFlag): it reads the old program's hand-over
// document on stdin and answers "ok" when it can adopt it — its protocol,
// and the agent's options as this version reads them — else the reason,
// with exit code 1.
func handoverCheck(stdin io.Reader, stdout io.Writer) int {
	err := agent.CheckHandover(stdin, stdout, version, func(argv []string) error {
		_, err := config.Load(argv[1:], loadOptions(filepath.Base(argv[0]), io.Discard))
		return err
	})
	if err != nil {
		fmt.Fprintf(stdout, "node-agent %s: %v\n", version, err)
		return exitFailure
	}
	return 0
}

// upgradeCommand upgrades a running agent in place.
func upgradeCommand() *cli.Command {
	return &cli.Command{
		Name:  "upgrade",
		Usage: "replace a running agent's program in place (same pid), keeping its workers; answers when the new program runs",
		UsageText: "node-agent upgrade [NAME] [--binary PATH] [--timeout D]\n\n" +
			"PATH defaults to the agent's own executable (a new build renamed over it).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "binary", Usage: "the new node-agent binary"},
			&cli.DurationFlag{Name: "timeout", Value: callTimeout + 2*agentUpgradeChecks, Usage: "how long to wait for the agent's answer"},
		},
		BashComplete: completeNames,
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 1 {
				return usagef("upgrade", "takes at most one NAME")
			}
			cmd, err := upgradeAdmin(c.String("binary"))
			if err != nil {
				return usagef("upgrade", "%v", err)
			}
			return steer(c, "upgrade", nameArg(c, 0), cmd)
		},
	}
}

// agentUpgradeChecks bounds the agent's checks of a new binary.
const agentUpgradeChecks = 10 * time.Second

// upgradeAdmin is the admin command upgrading to path ("" = the agent's
// own executable), made absolute here: the agent runs elsewhere.
func upgradeAdmin(path string) (string, error) {
	if path == "" {
		return agent.CmdUpgrade, nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if strings.ContainsAny(abs, " \t\n") {
		return "", fmt.Errorf("the binary's path %q has white space", abs)
	}
	return agent.CmdUpgrade + " " + abs, nil
}
