package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nodeagent/node-agent/tars"
)

// ctlAgent is an AdminF server with a test handler standing in for the
// agent: notify answers "reply to CMD", "fail" is an error, "block" waits
// for the caller to give up, an empty command answers "".
type ctlAgent struct {
	srv       *tars.Server
	mu        sync.Mutex
	commands  []string
	shutdowns int
}

func startCtlAgent(t *testing.T) *ctlAgent {
	t.Helper()
	a := &ctlAgent{}
	a.srv = tars.NewAdminServer(tars.AdminFuncs{
		OnShutdown: func() { a.mu.Lock(); a.shutdowns++; a.mu.Unlock() },
		OnNotify: func(ctx context.Context, cmd string) (string, error) {
			a.mu.Lock()
			a.commands = append(a.commands, cmd)
			a.mu.Unlock()
			switch cmd {
			case "fail":
				return "", errors.New("the agent has stopped")
			case "block":
				<-ctx.Done()
				return "", ctx.Err()
			case "quiet":
				return "", nil
			case "lines":
				return "0(11): ok\n1(12): ok\n", nil
			case "relay":
				return "tars.connection not support now!", nil // another command's answer
			}
			if strings.HasPrefix(cmd, "nosuch") {
				return cmd + " not support now!", nil // TarsGo's answer, return 0
			}
			return "reply to " + cmd, nil
		},
	}, tars.ServerOptions{})
	if err := a.srv.Listen("tcp -h 127.0.0.1 -p 0 -t 3000"); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- a.srv.Serve() }()
	t.Cleanup(func() {
		a.srv.Close()
		if err := <-served; err != nil && !errors.Is(err, tars.ErrClosed) {
			t.Error(err)
		}
	})
	return a
}

func ctl(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(append([]string{"node-agent", "ctl"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// oneLine fails unless msg is one "node-agent ctl: " line containing want.
func oneLine(t *testing.T, msg, want string) {
	t.Helper()
	if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "node-agent ctl: ") || !strings.Contains(msg, want) {
		t.Fatalf("stderr %q: want one line naming %q", msg, want)
	}
}

func TestCtlNotifyAndShutdown(t *testing.T) {
	a := startCtlAgent(t)
	ep := a.srv.Endpoint()
	for _, c := range []struct {
		args []string
		out  string
	}{
		{[]string{"--local", ep, "tars.viewstatus"}, "reply to tars.viewstatus\n"},
		{[]string{"--local=" + ep, "agent.scale", "4"}, "reply to agent.scale 4\n"},
		{[]string{"-local", "AdminObj@" + ep, "tars.setloglevel", "-x"}, "reply to tars.setloglevel -x\n"},
		{[]string{"--timeout", "5s", "--local", ep, "lines"}, "0(11): ok\n1(12): ok\n"},
		{[]string{"--local", ep, "quiet"}, ""},
		{[]string{"--local", ep, "relay"}, "tars.connection not support now!\n"},
		{[]string{"--local", ep, "shutdown"}, "shutdown requested: the agent at " + ep + " stops its workers gracefully, then exits\n"},
	} {
		code, out, errs := ctl(c.args...)
		if code != 0 || out != c.out || errs != "" {
			t.Errorf("ctl %q: exit %d, stdout %q, stderr %q", c.args, code, out, errs)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.commands) != 6 || a.shutdowns != 1 {
		t.Fatalf("agent saw %q and %d shutdowns", a.commands, a.shutdowns)
	}
}

// TestCtlConfig takes the endpoint from a TARS config's <server>local.
func TestCtlConfig(t *testing.T) {
	a := startCtlAgent(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "A.S.config.conf")
	os.WriteFile(conf, []byte("<tars>\n<application>\n<server>\napp=A\nserver=S\nlocal="+a.srv.Endpoint()+"\n</server>\n</application>\n</tars>\n"), 0o600)
	if code, out, errs := ctl("-c", conf, "tars.viewversion"); code != 0 || out != "reply to tars.viewversion\n" {
		t.Fatalf("exit %d, %q, %q", code, out, errs)
	}
	noLocal := filepath.Join(dir, "nolocal.conf")
	os.WriteFile(noLocal, []byte("<tars>\n<application>\n<server>\napp=A\n</server>\n</application>\n</tars>\n"), 0o600)
	code, _, errs := ctl("--config", noLocal, "x")
	if code != 2 {
		t.Fatalf("exit %d", code)
	}
	oneLine(t, errs, "no <tars><application><server>local")
}

// TestCtlFailures: unreachable agent, an error reply and a timeout are one
// line and exit 1.
func TestCtlFailures(t *testing.T) {
	a := startCtlAgent(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := tars.Endpoint{Protocol: "tcp", Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}.String()
	ln.Close()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--local", dead, "tars.viewstatus"}, "cannot reach the agent at " + dead + ": dial tcp"},
		{[]string{"--local", a.srv.Endpoint(), "fail"}, "answered notify with error -99: the agent has stopped"},
		{[]string{"--local", a.srv.Endpoint(), "--timeout", "100ms", "block"}, "no answer from the agent"},
		// Answered with return 0, as TarsGo answers it: ctl knows the words.
		{[]string{"--local", a.srv.Endpoint(), "nosuch.cmd", "a"}, "node-agent ctl: nosuch.cmd a not support now!"},
	} {
		code, out, errs := ctl(c.args...)
		if code != 1 || out != "" {
			t.Errorf("ctl %q: exit %d, stdout %q", c.args, code, out)
		}
		oneLine(t, errs, c.want)
	}
}

func TestCtlUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("<tars>\n<application>\n</tars>\n"), 0o600)
	ep := "tcp -h 127.0.0.1 -p 1"
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "no command"},
		{[]string{"--local", ep}, "no command"},
		{[]string{"tars.viewstatus"}, "--local ENDPOINT or -c CONF"},
		{[]string{"--local", ep, "-c", bad, "x"}, "not both"},
		{[]string{"--bogus", "x"}, "bogus"},
		{[]string{"--local", "tcp -h", "x"}, "--local"},
		{[]string{"--local", "udp -h 127.0.0.1 -p 1", "x"}, "tcp only"},
		{[]string{"-c", filepath.Join(dir, "missing.conf"), "x"}, "missing.conf"},
		{[]string{"-c", bad, "x"}, "bad.conf:3"},
		{[]string{"--local", ep, "--timeout", "soon", "x"}, "timeout"},
		{[]string{"--local", ep, "shutdown", "now"}, "shutdown takes no arguments"},
	} {
		code, out, errs := ctl(c.args...)
		if code != 2 || out != "" {
			t.Errorf("ctl %q: exit %d, stdout %q", c.args, code, out)
		}
		oneLine(t, errs, c.want)
	}
	if code, out, _ := ctl("--help"); code != 0 || !strings.Contains(out, "usage: node-agent ctl") {
		t.Fatalf("help: %d %q", code, out)
	}
}
