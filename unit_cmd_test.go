package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nodeagent/node-agent/internal/testtool"
)

// verifyUnit runs systemd-analyze verify on unit written as NAME.service
// and returns its output and whether it passed.
func verifyUnit(t *testing.T, name, unit string) (string, bool) {
	t.Helper()
	analyze := testtool.Require(t, "systemd-analyze", "apt-get install systemd")
	path := filepath.Join(t.TempDir(), name+".service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
	return string(out), err == nil && !bytes.Contains(out, []byte(name+".service:"))
}

// TestUnitVerifies: the unit for real options passes systemd-analyze
// verify and says what an operator needs: notify, mixed kill, reload,
// no restart on exit 2, a stop timeout above --graceful-shutdown.
func TestUnitVerifies(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"node-agent", "unit", "gw", "/bin/sleep", "-i", "2", "--graceful-shutdown", "3000",
		"--env", `{"A":"x y","B":"$HOME 100%"}`, "--", "1000"}, &out, &errb)
	if code != 0 {
		t.Fatalf("unit: exit %d: %s", code, errb.String())
	}
	unit := out.String()
	for _, want := range []string{"Type=notify", "KillMode=mixed", "ExecReload=/bin/kill -HUP $MAINPID",
		"Restart=on-failure", "RestartPreventExitStatus=2", "TimeoutStopSec=10", "--name gw /bin/sleep -i 2",
		`--env "{\"A\":\"x y\",\"B\":\"$$HOME 100%%\"}"`, "WantedBy=multi-user.target"} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	if msg, ok := verifyUnit(t, "gw", unit); !ok {
		t.Fatalf("systemd-analyze verify:\n%s\nunit:\n%s", msg, unit)
	}
	// The check is real: a broken line fails it.
	broken := strings.Replace(unit, "KillMode=mixed", "KillMode=gently", 1)
	if msg, ok := verifyUnit(t, "gw", broken); ok {
		t.Fatalf("systemd-analyze verify accepted KillMode=gently: %q", msg)
	}
}

func TestUnitBadInput(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"unit"}, "want NAME and ENTRY"},
		{[]string{"unit", "gw"}, "want NAME and ENTRY"},
		{[]string{"unit", "a b", "/bin/sleep"}, `NAME "a b"`},
		{[]string{"unit", "gw", "./no-such-entry"}, "no-such-entry"},
		{[]string{"unit", "gw", "/bin/sleep", "-i", "zero"}, "instances"},
		{[]string{"unit", "gw", "-n", "x", "/bin/sleep"}, "leave out -n"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := run(append([]string{"node-agent"}, c.args...), &out, &errb)
		if code != 2 || strings.Count(errb.String(), "\n") != 1 || !strings.Contains(errb.String(), c.want) || out.Len() != 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and one line naming %q", c.args, code, out.String(), errb.String(), c.want)
		}
	}
}

func TestSystemdQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain":      "plain",
		"a b":        `"a b"`,
		`say "hi"`:   `"say \"hi\""`,
		`back\slash`: `"back\\slash"`,
		"100%":       "100%%",
		"$HOME":      "$$HOME",
		"":           `""`,
	} {
		if got := systemdQuote(in); got != want {
			t.Errorf("systemdQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
