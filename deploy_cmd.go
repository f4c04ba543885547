package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/nodeagent/node-agent/internal/deploy"
)

// Exit codes of `deploy` (SPEC §8): 2 when the invocation must change
// (name, flags, directory, agent, include patterns), 1 when building,
// writing or verifying failed.
const (
	deployExitFailure = 1
	deployExitUsage   = 2
)

// deployFlags holds the parsed flags of `deploy NAME`.
type deployFlags struct {
	dir, output, goos, goarch, version, agent string
	cgo, force, json                          bool
	include, set                              multiString
}

// multiString is a repeatable string flag that, unlike cli.StringSlice, never
// splits values on commas (globs and JSON option values contain them).
type multiString []string

func (m *multiString) String() string     { return strings.Join(*m, " ") }
func (m *multiString) Set(v string) error { *m = append(*m, v); return nil }

// deployCommand returns `deploy NAME [flags]` and `deploy verify NAME.tgz`.
// version is the running agent's version, recorded in the manifest when the
// running executable is packaged as the agent. Errors are cli.Exit errors
// holding one line; nothing here exits the process.
func deployCommand(version string) *cli.Command {
	var f deployFlags
	return &cli.Command{
		Name:      "deploy",
		Usage:     "build a reproducible release tarball NAME.tgz (also: tars-deploy NAME)",
		ArgsUsage: "NAME",
		Description: "Run in the directory of the service's main package (or pass --dir). Builds the service\n" +
			"and writes NAME.tgz holding NAME/NAME/NAME (this agent), NAME/NAME/app/NAME (the service)\n" +
			"and NAME/NAME/node-agent.json (the manifest), plus NAME.tgz.sha256. Flags may follow NAME.\n" +
			"See `go doc github.com/nodeagent/node-agent/internal/deploy` for the layout and guarantees.",
		// Flags are parsed by the action so that they may follow NAME.
		SkipFlagParsing: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Usage: "directory of the service's main package (default: current directory)", Destination: &f.dir},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "tarball path or directory (default: ./NAME.tgz)", Destination: &f.output},
			&cli.StringFlag{Name: "goos", Usage: "target operating system (default: host)", Destination: &f.goos},
			&cli.StringFlag{Name: "goarch", Usage: "target architecture (default: host)", Destination: &f.goarch},
			&cli.BoolFlag{Name: "cgo", Usage: "build the service with CGO_ENABLED=1", Destination: &f.cgo},
			&cli.StringFlag{Name: "version", Usage: "service version (default: git describe --tags --always --dirty, else " + deploy.DefaultVersion + ")", Destination: &f.version},
			&cli.StringFlag{Name: "agent", Usage: "agent binary to package (default: this executable; required for another platform)", Destination: &f.agent},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "package an agent of another platform anyway, with a warning", Destination: &f.force},
			&cli.GenericFlag{Name: "include", Usage: "`GLOB` relative to --dir of files or directories to ship under NAME/NAME/ (repeatable)", Value: &f.include},
			&cli.GenericFlag{Name: "set", Usage: "agent option default in the manifest, `KEY=VALUE` with a long option name, e.g. instances=4 (repeatable)", Value: &f.set},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object {path,size,sha256,files} instead of the summary line", Destination: &f.json},
		},
		Action: func(c *cli.Context) error {
			f = deployFlags{} // the flags point into f; start from the defaults
			name, help, err := parseDeployArgs(c.Command.Flags, c.Args().Slice())
			switch {
			case help:
				return cli.ShowSubcommandHelp(c)
			case err != nil:
				return deployUsage("%v (see node-agent deploy --help)", err)
			}
			return runDeploy(c, name, &f, version)
		},
		Subcommands: []*cli.Command{verifyCommand()},
	}
}

// parseDeployArgs parses args against flags, allowing flags before and after
// the single positional NAME.
func parseDeployArgs(flags []cli.Flag, args []string) (name string, help bool, err error) {
	fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, f := range flags {
		if err := f.Apply(fs); err != nil {
			return "", false, err
		}
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return "", true, nil
			}
			return "", false, err
		}
		if len(fs.Args()) == 0 {
			break
		}
		pos = append(pos, fs.Args()[0])
		args = fs.Args()[1:]
	}
	if h := fs.Lookup("help"); h != nil && h.Value.String() == "true" {
		return "", true, nil
	}
	switch len(pos) {
	case 0:
		return "", false, errors.New("missing NAME, e.g. node-agent deploy GatewayServer")
	case 1:
		return pos[0], false, nil
	}
	return "", false, fmt.Errorf("one NAME expected, got %q", pos)
}

// runDeploy builds the package and prints the result.
func runDeploy(c *cli.Context, name string, f *deployFlags, version string) error {
	opts := deploy.Options{
		Name: name, Dir: f.dir, Output: f.output, GOOS: f.goos, GOARCH: f.goarch,
		CGO: f.cgo, Version: f.version, Agent: f.agent, Force: f.force,
		Include: f.include,
		Warn:    func(msg string) { fmt.Fprintf(c.App.ErrWriter, "deploy: warning: %s\n", msg) },
	}
	if f.agent == "" {
		opts.AgentVersion = version
	}
	if len(f.set) > 0 {
		opts.AgentOptions = map[string]string{}
		for _, kv := range f.set {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return deployUsage("--set %q: want KEY=VALUE, e.g. instances=4", kv)
			}
			opts.AgentOptions[strings.TrimLeft(k, "-")] = v
		}
	}
	if !f.json && isTerminal(c.App.ErrWriter) {
		opts.Progress = func(percent int, step string) {
			fmt.Fprintln(c.App.ErrWriter, progressLine(percent, step))
		}
	}

	res, err := deploy.Build(c.Context, opts)
	if err != nil {
		var be *deploy.BuildError
		if errors.As(err, &be) && strings.TrimSpace(be.Output) != "" {
			fmt.Fprint(c.App.ErrWriter, strings.TrimRight(be.Output, "\n")+"\n")
		}
		return cli.Exit("deploy: "+err.Error(), deployExitCode(err))
	}
	if f.json {
		return printJSON(c.App.Writer, res)
	}
	fmt.Fprintf(c.App.Writer, "deploy: wrote %s (%d bytes, %d files, sha256 %s)\n", res.Path, res.Size, len(res.Files), res.SHA256)
	return nil
}

// verifyCommand returns `deploy verify NAME.tgz`.
func verifyCommand() *cli.Command {
	var asJSON bool
	return &cli.Command{
		Name:      "verify",
		Usage:     "check a package's structure, manifest hashes, modes and sizes (and NAME.tgz.sha256 when present)",
		ArgsUsage: "NAME.tgz",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the manifest as JSON on success", Destination: &asJSON},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return deployUsage("verify: one NAME.tgz expected, got %d arguments", c.NArg())
			}
			p := c.Args().First()
			m, err := deploy.VerifyFile(p)
			if err != nil {
				return cli.Exit(fmt.Sprintf("deploy verify: %s: %v", p, err), deployExitFailure)
			}
			if asJSON {
				return printJSON(c.App.Writer, m)
			}
			fmt.Fprintf(c.App.Writer, "%s: ok: %s %s for %s/%s, %d files\n", p, m.Name, m.Version, m.GOOS, m.GOARCH, len(m.Files))
			return nil
		},
	}
}

// deployExitCode maps deploy errors to exit codes.
func deployExitCode(err error) int {
	for _, usage := range []error{deploy.ErrBadName, deploy.ErrBadVersion, deploy.ErrBadOption,
		deploy.ErrNotMain, deploy.ErrAgent, deploy.ErrInclude} {
		if errors.Is(err, usage) {
			return deployExitUsage
		}
	}
	return deployExitFailure
}

func deployUsage(format string, args ...any) error {
	return cli.Exit("deploy: "+fmt.Sprintf(format, args...), deployExitUsage)
}

// progressLine formats a step as the original tars-deploy did: "[ 40%] building service".
func progressLine(percent int, step string) string {
	return fmt.Sprintf("[%3d%%] %s", percent, step)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return cli.Exit("deploy: "+err.Error(), deployExitFailure)
	}
	return nil
}

// isTerminal reports whether w is a terminal (progress lines go only there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
