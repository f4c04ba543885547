package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestHelpListsEveryCommand: --help, help and no arguments list every
// command with one line each; help CMD shows that command's usage.
func TestHelpListsEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {}} {
		var out, errb bytes.Buffer
		if code := run(append([]string{"node-agent"}, args...), &out, &errb); code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, errb.String())
		}
		help := out.String()
		for _, name := range commandNames() {
			if !strings.Contains(help, "\n   "+name+" ") {
				t.Errorf("%q: help does not list %s:\n%s", args, name, help)
			}
		}
	}
	for _, c := range commands(version) {
		var out, errb bytes.Buffer
		if code := run([]string{"node-agent", "help", c.Name}, &out, &errb); code != 0 || !strings.Contains(out.String(), c.Name) {
			t.Errorf("help %s: exit %d, %q %q", c.Name, code, out.String(), errb.String())
		}
	}
}

// TestCommandUsageErrors: bad input to an operator command is one line
// naming the problem and exit 2, before any agent is looked for.
func TestCommandUsageErrors(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "--bogus"}, "node-agent status: flag provided but not defined: -bogus"},
		{[]string{"status", "a", "b"}, "at most one NAME"},
		{[]string{"ls", "x"}, "node-agent ls: takes no arguments"},
		{[]string{"scale", "x"}, `N "x" is not a number of workers`},
		{[]string{"scale", "gw", "0"}, `N "0"`},
		{[]string{"scale"}, "want [NAME] N"},
		{[]string{"logs", "-n", "x"}, `invalid value "x" for flag -n`},
		{[]string{"logs", "gw", "-n", "-1"}, "-n -1 is negative"},
		{[]string{"monit", "--interval", "1ms"}, "--interval 1ms is below 100ms"},
		{[]string{"completion", "fish"}, "want bash or zsh"},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"node-agent"}, c.args...), &out, &errb)
		if code != 2 || strings.Count(errb.String(), "\n") != 1 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and one line with %q", c.args, code, errb.String(), c.want)
		}
	}
	// No agent at all is a failure to reach one (exit 1), naming the dir.
	var out, errb bytes.Buffer
	if code := run([]string{"node-agent", "status"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no agent runs") {
		t.Errorf("status with no agent: exit %d, %q", code, errb.String())
	}
}
