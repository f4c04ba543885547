package config

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// Usage is the synopsis line of the help text.
const Usage = "node-agent [options] ENTRY [options] [-- worker args...]"

// cmdline is the command line after splitting (see splitArgs).
type cmdline struct {
	flags    []string // the options, as urfave/cli will parse them
	entry    string   // ENTRY, "" when absent
	trailing []string // arguments after --, nil when there is no --
	hasDash  bool     // a -- was given
	help     bool
	version  bool
}

// splitCommandLine separates options from ENTRY so that options may follow
// ENTRY (urfave/cli, like the flag package, stops at the first positional
// argument). It knows which options take a value, so "-i 4" stays together
// and "--script-args -v" takes "-v" as the value. A "--" ends the options:
// everything after it is for the workers. An unknown option, an option
// missing its value, a bad --watch=VALUE and a second positional argument are
// usage errors.
func splitCommandLine(args []string) (cmdline, error) {
	var c cmdline
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			c.hasDash = true
			c.trailing = append([]string{}, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			if c.entry != "" {
				return c, usagef("unexpected argument %q after ENTRY %q: pass worker arguments after -- or with --script-args", a, c.entry)
			}
			c.entry = a
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		switch name {
		case "h", "help":
			c.help = true
			continue
		case "V", "version":
			c.version = true
			continue
		}
		opt, ok := optionByFlag(name)
		if !ok {
			return c, usagef("unknown option %s (see node-agent --help)", a)
		}
		switch {
		case opt.flag && hasVal:
			on, err := parseBool(val)
			if err != nil {
				return c, usageWrap(err, "--%s: bad value %q", opt.name, val)
			}
			c.flags = append(c.flags, "--"+opt.name+"="+strconv.FormatBool(on))
		case opt.flag:
			c.flags = append(c.flags, "--"+opt.name)
		case hasVal:
			c.flags = append(c.flags, "--"+opt.name+"="+val)
		case i+1 < len(args):
			i++
			c.flags = append(c.flags, "--"+opt.name+"="+args[i])
		default:
			return c, usagef("option %s needs a value (%s)", a, placeholderOf(opt))
		}
	}
	return c, nil
}

// optionByFlag finds an option by long or short name.
func optionByFlag(name string) (*option, bool) {
	for i := range options {
		if options[i].name == name || (options[i].short != "" && options[i].short == name) {
			return &options[i], true
		}
	}
	return nil, false
}

// placeholderOf returns the `quoted` word of an option's usage, the name of
// its value in help and errors; "VALUE" when there is none.
func placeholderOf(o *option) string {
	_, rest, ok := strings.Cut(o.usage, "`")
	if !ok {
		return "VALUE"
	}
	ph, _, _ := strings.Cut(rest, "`")
	return ph
}

// newApp builds the urfave/cli application for the option table. action is
// called with the parsed context; help goes to w.
func newApp(w io.Writer, action cli.ActionFunc) *cli.App {
	flags := make([]cli.Flag, 0, len(options))
	for i := range options {
		o := &options[i]
		var aliases []string
		if o.short != "" {
			aliases = []string{o.short}
		}
		if o.flag {
			flags = append(flags, &cli.BoolFlag{Name: o.name, Aliases: aliases, Usage: o.usage, DisableDefaultText: true})
			continue
		}
		flags = append(flags, &cli.StringFlag{Name: o.name, Aliases: aliases, Usage: o.usage})
	}
	flags = append(flags, &cli.BoolFlag{Name: "version", Aliases: []string{"V"}, Usage: "print the version and exit", DisableDefaultText: true})
	return &cli.App{
		Name:            "node-agent",
		Usage:           "supervise N workers of a service (Go counterpart of TARS @tars/node-agent)",
		UsageText:       Usage + "\n\nENTRY is an executable, a directory holding one (or a node-agent.json manifest),\nor a Go main package directory, built and cached.",
		Flags:           flags,
		HideVersion:     true,
		HideHelpCommand: true,
		Writer:          w,
		ErrWriter:       io.Discard,
		Action:          action,
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageWrap(err, "bad command line")
		},
	}
}

// printHelp writes the help text to w.
func printHelp(w io.Writer) error {
	app := newApp(w, func(*cli.Context) error { return nil })
	if err := app.Run([]string{"node-agent", "--help"}); err != nil {
		return fmt.Errorf("printing help: %w", err)
	}
	return nil
}

// parseFlags runs urfave/cli over the split options and returns the command
// line as a source holding exactly the options that were given (ctx.IsSet),
// whatever their value. dir is the base of relative paths (the working
// directory).
func parseFlags(c cmdline, dir string) (mapSource, error) {
	src := mapSource{}
	app := newApp(io.Discard, func(ctx *cli.Context) error {
		for i := range options {
			o := &options[i]
			if !ctx.IsSet(o.name) {
				continue
			}
			text := ctx.String(o.name)
			if o.flag {
				text = strconv.FormatBool(ctx.Bool(o.name))
			}
			src[o.name] = value{text: text, where: cliWhere(o.name), dir: dir}
		}
		return nil
	})
	if err := app.Run(append([]string{"node-agent"}, c.flags...)); err != nil {
		return nil, err
	}
	return src, nil
}
