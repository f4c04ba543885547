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
