package config

import (
	"reflect"
	"testing"
)

func TestSplitCommandLine(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want cmdline
	}{
		{"entry only", []string{"./gw"}, cmdline{entry: "./gw"}},
		{"flags after entry", []string{"./gw", "-i", "4", "--name", "a.b"},
			cmdline{entry: "./gw", flags: []string{"--instances=4", "--name=a.b"}}},
		{"flags both sides", []string{"-c", "x.conf", "./gw", "--keepalive-time=off"},
			cmdline{entry: "./gw", flags: []string{"--config=x.conf", "--keepalive-time=off"}}},
		{"single-dash long", []string{"-instances", "2", "./gw"}, cmdline{entry: "./gw", flags: []string{"--instances=2"}}},
		{"value that looks like a flag", []string{"./gw", "--script-args", "-v --x"},
			cmdline{entry: "./gw", flags: []string{"--script-args=-v --x"}}},
		{"empty value", []string{"./gw", "--name="}, cmdline{entry: "./gw", flags: []string{"--name="}}},
		{"value with =", []string{"./gw", "--env={\"A\":\"b=c\"}"}, cmdline{entry: "./gw", flags: []string{`--env={"A":"b=c"}`}}},
		{"watch switch", []string{"./gw", "--watch"}, cmdline{entry: "./gw", flags: []string{"--watch"}}},
		{"watch=on", []string{"./gw", "--watch=on"}, cmdline{entry: "./gw", flags: []string{"--watch=true"}}},
		{"watch=0", []string{"./gw", "-watch=0"}, cmdline{entry: "./gw", flags: []string{"--watch=false"}}},
		{"dashdash", []string{"./gw", "-i", "2", "--", "-i", "x"},
			cmdline{entry: "./gw", flags: []string{"--instances=2"}, trailing: []string{"-i", "x"}, hasDash: true}},
		{"dashdash before entry is worker args", []string{"--", "./gw"}, cmdline{trailing: []string{"./gw"}, hasDash: true}},
		{"dash alone is positional", []string{"-"}, cmdline{entry: "-"}},
		{"help", []string{"./gw", "-h"}, cmdline{entry: "./gw", help: true}},
		{"version", []string{"--version"}, cmdline{version: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := splitCommandLine(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("split(%q) =\n%+v\nwant\n%+v", tt.args, got, tt.want)
			}
		})
	}
}

func TestSplitCommandLineErrors(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"./gw", "--bogus"}, []string{"unknown option --bogus", "--help"}},
		{[]string{"--bogus=1", "./gw"}, []string{"unknown option --bogus=1"}},
		{[]string{"-q"}, []string{"unknown option -q"}},
		{[]string{"./gw", "--long-stack", "on"}, []string{"unknown option --long-stack"}},
		{[]string{"./gw", "-n"}, []string{"option -n needs a value (NAME)"}},
		{[]string{"./gw", "--env"}, []string{"option --env needs a value (JSON)"}},
		{[]string{"./gw", "other"}, []string{`unexpected argument "other" after ENTRY "./gw"`}},
		{[]string{"./gw", "--watch=maybe"}, []string{"--watch", `"maybe"`}},
	}
	for _, tt := range tests {
		_, err := splitCommandLine(tt.args)
		wantUsageError(t, err, tt.want...)
	}
}

// TestParseFlagsPresence: only options given are in the command-line
// source, whatever their value (presence, not truthiness).
func TestParseFlagsPresence(t *testing.T) {
	cl, err := splitCommandLine([]string{"./gw", "-i", "auto", "--keepalive-time", "off", "--tars-monitor", "0", "--watch=off", "-n", ""})
	if err != nil {
		t.Fatal(err)
	}
	src, err := parseFlags(cl, "/work")
	if err != nil {
		t.Fatal(err)
	}
	want := mapSource{
		"instances":      {text: "auto", where: "--instances", dir: "/work"},
		"keepalive-time": {text: "off", where: "--keepalive-time", dir: "/work"},
		"tars-monitor":   {text: "0", where: "--tars-monitor", dir: "/work"},
		"watch":          {text: "false", where: "--watch", dir: "/work"},
		"name":           {text: "", where: "--name", dir: "/work"},
	}
	if !reflect.DeepEqual(src, want) {
		t.Errorf("parseFlags = %+v\nwant %+v", src, want)
	}
}

// TestOptionTable keeps the table consistent: unique names and shorts, a
// placeholder for every valued option, and every option reachable.
func TestOptionTable(t *testing.T) {
	seen := map[string]bool{}
	for _, o := range options {
		for _, n := range []string{o.name, o.short} {
			if n == "" {
				continue
			}
			if seen[n] || n == "h" || n == "help" || n == "V" || n == "version" {
				t.Errorf("option name %q used twice", n)
			}
			seen[n] = true
		}
		if ph := placeholderOf(&o); !o.flag && ph == "VALUE" {
			t.Errorf("--%s has no `placeholder` in its usage", o.name)
		}
		if o.apply == nil {
			t.Errorf("--%s has no apply", o.name)
		}
		if got, ok := optionByFlag(o.name); !ok || got.name != o.name {
			t.Errorf("optionByFlag(%q) failed", o.name)
		}
	}
	// SPEC §2 has 25; --ready-timeout, --steering and --subreaper are ours (beyond).
	if len(options) != 28 {
		t.Errorf("%d options; want SPEC §2's 25 plus --ready-timeout, --steering and --subreaper", len(options))
	}
}
