package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ctlRealAgent runs the built node-agent with two testdata/ctlworker
// workers and an AdminF endpoint, and returns that endpoint. The files
// break and hold are the workers' $CTL_BREAK and $CTL_HOLD.
func ctlRealAgent(t *testing.T) (ep, brk, hold string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "node-agent")
	buildBinary(t, ".", bin)
	brk, hold = filepath.Join(dir, "break"), filepath.Join(dir, "hold")
	ep = "tcp -h 127.0.0.1 -p " + strconv.Itoa(freePort(t)) + " -t 3000"
	cmd := exec.Command(bin, "./testdata/ctlworker", "-i", "2", "--tars-local", ep)
	cmd.Env = append(os.Environ(), "CTL_BREAK="+brk, "CTL_HOLD="+hold)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("agent output:\n%s", out.String())
		}
	})
	// Building the worker takes a while on a cold cache.
	if !poll(120*time.Second, func() bool { code, _, _ := ctl("--local", ep, "preheatCheck"); return code == 0 }) {
		t.Fatal("the agent's workers never became ready")
	}
	return ep, brk, hold
}

// TestCtlExitCodesAgainstTheAgent: every admin command of a real agent,
// through `node-agent ctl`: 0 for an answer, 1 for an error answer (and a
// partial reply when a worker is slow), 1 when unreachable.
func TestCtlExitCodesAgainstTheAgent(t *testing.T) {
	ep, broken, hold := ctlRealAgent(t)
	for _, c := range []struct {
		args       []string
		code       int
		out, errIn []string // substrings of stdout, stderr
	}{
		{args: []string{"tars.viewversion"}, out: []string{version}},
		{args: []string{"agent.status"}, out: []string{`"workers":[`}},
		{args: []string{"tars.setloglevel", "info"}, out: []string{"tars.setloglevel INFO succ"}},
		{args: []string{"tars.setloglevel", "loud"}, code: 1, errIn: []string{`tars.setloglevel failed: unknown log level [loud]!`}},
		{args: []string{"agent.scale", "x"}, code: 1, errIn: []string{"agent.scale wants a worker count"}},
		{args: []string{"agent.scale"}, code: 1, errIn: []string{"agent.scale wants a worker count"}},
		{args: []string{"app.echo", "hi"}, out: []string{"0(", "1(", "): hi"}},
		{args: []string{"app.fail"}, code: 1, errIn: []string{"app.fail always fails"}},
		{args: []string{"no.such.command"}, code: 1, errIn: []string{`no.such.command not support now!`}},
		// One worker answers, the other hangs: the partial reply arrives
		// before ctl's own timeout.
		{args: []string{"--timeout", "1500ms", "app.slow"}, code: 1, errIn: []string{"): fast", "): no reply within"}},
		{args: []string{"--timeout", "60s", "agent.reload"}, out: []string{"ok: reloaded 2 workers"}},
	} {
		code, out, errs := ctl(append([]string{"--local", ep}, c.args...)...)
		ok := code == c.code
		for _, s := range c.out {
			ok = ok && strings.Contains(out, s)
		}
		for _, s := range c.errIn {
			ok = ok && strings.Contains(errs, s)
		}
		if c.code != 0 {
			ok = ok && out == "" && strings.HasPrefix(errs, "node-agent ctl: ")
		}
		if !ok {
			t.Errorf("ctl %q: exit %d (want %d)\nstdout %q\nstderr %q", c.args, code, c.code, out, errs)
		}
	}
	var st struct{ Instances int }
	if _, out, _ := ctl("--local", ep, "agent.status"); json.Unmarshal([]byte(out), &st) != nil || st.Instances != 2 {
		t.Fatalf("agent.status %q", out)
	}

	// A new worker held before ready: preheatCheck answers "not ready".
	os.WriteFile(hold, nil, 0o644)
	if code, out, errs := ctl("--local", ep, "agent.scale", "3"); code != 0 || !strings.Contains(out, "ok: 3 workers (was 2)") {
		t.Fatalf("agent.scale 3: exit %d, %q, %q", code, out, errs)
	}
	if code, out, _ := ctl("--local", ep, "preheatCheck"); code != 1 || out != "not ready\n" {
		t.Fatalf("preheatCheck with a worker starting: exit %d, %q", code, out)
	}
	os.Remove(hold)
	if !poll(30*time.Second, func() bool { code, _, _ := ctl("--local", ep, "preheatCheck"); return code == 0 }) {
		t.Fatal("the third worker never became ready")
	}

	// A broken build: the reload fails, the agent answers an error.
	os.WriteFile(broken, nil, 0o644)
	code, out, errs := ctl("--local", ep, "--timeout", "60s", "agent.reload")
	if code != 1 || out != "" || !strings.Contains(errs, "reload failed: worker 0: replacement pid") || !strings.Contains(errs, "0 of 3 workers were replaced") {
		t.Fatalf("failed reload: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	os.Remove(broken)

	if code, out, errs := ctl("--local", ep, "shutdown"); code != 0 {
		t.Fatalf("shutdown: exit %d, %q, %q", code, out, errs)
	}
	if !poll(30*time.Second, func() bool {
		code, _, _ := ctl("--local", ep, "--timeout", "500ms", "tars.viewversion")
		return code == 1
	}) {
		t.Fatal("the agent still answers after shutdown")
	}
	code, _, errs = ctl("--local", ep, "--timeout", "500ms", "tars.viewversion")
	oneLine(t, errs, "cannot reach the agent")
	if code != 1 {
		t.Fatalf("unreachable agent: exit %d", code)
	}
}
