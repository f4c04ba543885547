package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/nodeagent/node-agent/internal/agent/config"
	"github.com/urfave/cli/v2"
)

// unitName is what a unit NAME may hold: systemd's unit name characters,
// minus the template and escape ones.
var unitName = regexp.MustCompile(`^[0-9A-Za-z._-]+$`)

// unitStopMargin is what TimeoutStopSec adds to --graceful-shutdown: the
// agent's own exit after its workers'.
const unitStopMargin = 7

func unitCommand() *cli.Command {
	return &cli.Command{
		Name:  "unit",
		Usage: "print a systemd unit (Type=notify) running ENTRY with these options",
		UsageText: "node-agent unit NAME [options...] ENTRY [options...] [-- worker args...]\n\n" +
			"The options are the agent's (node-agent --help) and are checked first; relative paths\n" +
			"are kept, with WorkingDirectory= the current directory. Install it with:\n" +
			"  node-agent unit gateway ./gateway -i 4 -l /var/log > /etc/systemd/system/gateway.service\n" +
			"  systemctl daemon-reload && systemctl enable --now gateway\n" +
			"The unit exits for good on exit code 2 (bad options), restarts on any other failure,\n" +
			"reloads with systemctl reload (SIGHUP: rolling reload) and stops gracefully.",
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
				return cli.ShowCommandHelp(c, "unit")
			}
			if len(args) < 2 {
				return usagef("unit", "want NAME and ENTRY")
			}
			unit, err := buildUnit(args[0], args[1:])
			if err != nil {
				return err
			}
			_, err = io.WriteString(c.App.Writer, unit)
			return err
		},
	}
}

// buildUnit returns the unit file running the agent named name with
// args (options and ENTRY), after checking them as the agent would.
func buildUnit(name string, args []string) (string, error) {
	if !unitName.MatchString(name) {
		return "", usagef("unit", "NAME %q: want letters, digits, '.', '_' or '-'", name)
	}
	for _, a := range args {
		if a == "-n" || a == "--name" || strings.HasPrefix(a, "--name=") {
			return "", usagef("unit", "the unit's NAME is the service name: leave out %s", a)
		}
	}
	args = append([]string{"--name", name}, args...)
	cfg, err := config.Load(args, config.LoadOptions{Version: version, Stdout: io.Discard})
	var usage *config.UsageError
	switch {
	case errors.Is(err, config.ErrHelp), errors.Is(err, config.ErrVersion):
		return "", usagef("unit", "want options and an ENTRY, not help or version")
	case errors.As(err, &usage):
		return "", usagef("unit", "%v", err)
	case err != nil:
		return "", failf("unit", "%v", err)
	}
	if err := config.CheckRunAsAccess(cfg); err != nil {
		return "", usagef("unit", "%v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return "", failf("unit", "locating node-agent itself: %v", err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return "", failf("unit", "locating node-agent itself: %v", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", failf("unit", "working directory: %v", err)
	}
	cmd := []string{systemdQuote(exe)}
	for _, a := range args {
		cmd = append(cmd, systemdQuote(a))
	}
	stop := int(math.Ceil(cfg.GracefulShutdown.Seconds())) + unitStopMargin
	var b strings.Builder
	fmt.Fprintf(&b, `# %s.service, written by: node-agent unit %s
[Unit]
Description=%s under node-agent
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
NotifyAccess=main
WorkingDirectory=%s
ExecStart=%s
# Rolling reload: every worker replaced one by one, no request lost.
ExecReload=/bin/kill -HUP $MAINPID
# SIGTERM to the agent only: it stops its workers gracefully; systemd
# SIGKILLs whatever is left in the cgroup after TimeoutStopSec.
KillMode=mixed
TimeoutStopSec=%d
WatchdogSec=30
Restart=on-failure
RestartSec=2
# Exit 2 is a usage or configuration error: restarting will not help.
RestartPreventExitStatus=2

[Install]
WantedBy=multi-user.target
`, name, strings.Join(append([]string{name}, args[2:]...), " "), name, strings.ReplaceAll(wd, "%", "%%"), strings.Join(cmd, " "), stop)
	return b.String(), nil
}

// systemdQuote quotes one word of an Exec line: % and $ doubled (no
// specifier or variable expansion), and double quotes with backslash
// escapes around a word holding white space, quotes or backslashes.
func systemdQuote(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	s = strings.ReplaceAll(s, "$", "$$")
	if s != "" && !strings.ContainsAny(s, " \t\n\"'\\;") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}
