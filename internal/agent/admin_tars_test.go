package agent

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFakeGraceRestart: tars.gracerestart runs the rolling reload and
// answers TarsGo's text once every worker is replaced; while it runs a
// second one fails with ErrReloadInProgress, and a failed reload is an
// error (AdminF answers non-zero).
func TestFakeGraceRestart(t *testing.T) {
	fr, old := startReady(t, 2, nil)
	reply := fr.notifyAsync("tars.gracerestart")
	n0 := fr.started()
	if _, err := fr.notifyErr("tars.gracerestart"); !errors.Is(err, ErrReloadInProgress) || err.Error() != "restart failed: reload in progress" {
		t.Fatalf("second gracerestart: %v", err)
	}
	fr.readyLinked(n0)
	n1 := fr.started()
	fr.exit(old[0], 0)
	fr.readyLinked(n1)
	if got := <-reply; got != "restart gracefully!" {
		t.Fatalf("gracerestart reply %q", got)
	}
	fr.exit(old[1], 0)

	reply = fr.notifyAsync("tars.gracerestart")
	bad := fr.started()
	fr.hello(bad)
	fr.exit(bad, 2)
	if got := <-reply; !strings.HasPrefix(got, "ERR restart failed: reload failed: worker 0") {
		t.Fatalf("failed gracerestart: %q", got)
	}
	fr.noStart()
	fr.stop(n0, n1)
}

// TestTarsAdminCommands: the TARS commands the agent answers for the
// service, against real workers linked with package container.
func TestTarsAdminCommands(t *testing.T) {
	cfg := testConfig(2, "serve")
	cfg.HTTPAddress = freeAddr(t)
	cfg.LogDir = t.TempDir()
	app, _ := LogFiles(cfg)
	if err := os.MkdirAll(filepath.Dir(app), 0o755); err != nil {
		t.Fatal(err)
	}
	var core unix.Rlimit
	if err := unix.Prlimit(0, unix.RLIMIT_CORE, nil, &core); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Prlimit(0, unix.RLIMIT_CORE, &core, nil) })
	r := run(t, cfg)
	pids := make([]int, 2)
	for range 2 {
		m := r.waitLine(`worker (\d) \(pid (\d+)\) ready`)
		slot, _ := strconv.Atoi(m[1])
		pids[slot], _ = strconv.Atoi(m[2])
	}

	help := r.notify("tars.help")
	for _, want := range []string{"agent:\n  tars.viewversion: ", "  tars.closecore yes|no: ", "workers:\n  echo\n  tars.viewstatus"} {
		if !strings.Contains(help, want) {
			t.Fatalf("tars.help lacks %q:\n%s", want, help)
		}
	}

	// Core files: off, then on, in the agent and in both workers.
	for _, c := range []struct{ arg, cur string }{{"yes", "0"}, {"no", coreMax(t, os.Getpid())}} {
		got := r.notify("tars.closecore " + c.arg)
		if !strings.HasPrefix(got, "agent.test|before set:cur:") || !strings.Contains(got, "|after set cur:"+c.cur+";") {
			t.Fatalf("closecore %s: %q", c.arg, got)
		}
		for _, pid := range append([]int{os.Getpid()}, pids...) {
			if cur := coreCur(t, pid); cur != c.cur {
				t.Fatalf("closecore %s: pid %d has a soft core limit of %s, want %s", c.arg, pid, cur, c.cur)
			}
		}
	}
	if err := r.notifyErr("tars.closecore maybe", ErrBadArgument); err.Error() != `tars.closecore wants yes or no, got "maybe"` {
		t.Fatal(err)
	}

	got := r.notify("tars.dumpstack")
	stack := strings.TrimSuffix(app, ".log") + "_stackinfo.log"
	if want := fmt.Sprintf("tars.dumpstack succ\n0(%d): %s\n1(%d): %s", pids[0], stack, pids[1], stack); got != want {
		t.Fatalf("dumpstack: %q, want %q", got, want)
	}
	b, err := os.ReadFile(stack)
	if err != nil || strings.Count(string(b), "goroutine ") < 2 || !strings.Contains(string(b), fmt.Sprintf("worker 1 pid %d =====", pids[1])) {
		t.Fatalf("%s: %v\n%.2000s", stack, err, b)
	}

	// pprof on worker 1 only, on a free loopback port.
	got = r.notify("tars.pprof 0 5 1")
	m := regexp.MustCompile(fmt.Sprintf(`^1\(%d\): see (http://127\.0\.0\.1:\d+/debug/pprof/)$`, pids[1])).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("pprof: %q", got)
	}
	resp, err := http.Get(m[1] + "goroutine?debug=1")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("pprof GET: %v %v", err, resp)
	}
	resp.Body.Close()
	for _, bad := range []string{"tars.pprof x", "tars.pprof 0 0", "tars.pprof 0 5 2", "tars.pprof 1 2 3 4"} {
		r.notifyErr(bad, ErrBadArgument)
	}

	r.sup.cfg.ServiceVersion = "1.2.3" // from a deploy manifest
	if got := r.notify("tars.viewversion"); got != r.sup.version+" (service 1.2.3)" {
		t.Fatalf("viewversion: %q", got)
	}
	if got := r.notify("tars.setloglevel info"); got != "tars.setloglevel INFO succ" {
		t.Fatalf("setloglevel: %q", got)
	}
	if err := r.notifyErr("tars.setloglevel", ErrBadArgument); err.Error() != "tars.setloglevel failed: missing loglevel!" {
		t.Fatal(err)
	}
	if err := r.notifyErr("tars.connection", ErrUnknownCommand); err.Error() != "tars.connection not support now!" {
		t.Fatal(err)
	}
}

// coreCur and coreMax read a process's RLIMIT_CORE from /proc, "-1" for
// unlimited.
func coreCur(t *testing.T, pid int) string { return coreLimit(t, pid)[0] }
func coreMax(t *testing.T, pid int) string { return coreLimit(t, pid)[1] }

func coreLimit(t *testing.T, pid int) [2]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Max core file size") {
			f := strings.Fields(strings.TrimPrefix(line, "Max core file size"))
			for i := range 2 {
				if f[i] == "unlimited" {
					f[i] = "-1"
				}
			}
			return [2]string{f[0], f[1]}
		}
	}
	t.Fatalf("no core limit in /proc/%d/limits", pid)
	return [2]string{}
}

// TestFakeStopNoticeWhenShutdownEnds: "stop" goes to tarsnotify once the
// last worker is gone, not when the shutdown starts (TarsGo reports it on
// exit).
func TestFakeStopNoticeWhenShutdownEnds(t *testing.T) {
	notices := make(chan string, 10)
	fr := startFakeWith(t, 1, func(s *Supervisor) {
		s.Subscribe(func(ev Event) {
			if a, ok := ev.(Alarm); ok {
				notices <- a.Message
			}
		})
	})
	p := fr.started()
	fr.hello(p)
	if m := <-notices; m != "restart" {
		t.Fatalf("first notice %q", m)
	}
	fr.sup.Shutdown()
	fr.sync()
	select {
	case m := <-notices:
		t.Fatalf("notice %q while the worker still runs", m)
	default:
	}
	fr.exit(p, 0)
	<-fr.sup.quit
	if m := <-notices; m != "stop" {
		t.Fatalf("notice %q, want stop", m)
	}
}

// TestWorkersGetTarsPaths: under a TARS config, workers get <server>basepath
// and datapath as TARS_BASEPATH and TARS_DATAPATH.
func TestWorkersGetTarsPaths(t *testing.T) {
	cfg := testConfig(1, "unused")
	cfg.TarsConfig, cfg.BasePath, cfg.DataPath = "/srv/App.Svc.config.conf", "/srv/bin/", "/srv/data/"
	env := strings.Join(baseEnv(cfg, nil), " ")
	if !strings.Contains(env, " TARS_BASEPATH=/srv/bin/ ") || !strings.Contains(env, " TARS_DATAPATH=/srv/data/ ") {
		t.Fatalf("env %s", env)
	}
	cfg.TarsConfig = ""
	if env := strings.Join(baseEnv(cfg, nil), " "); strings.Contains(env, "TARS_BASEPATH") {
		t.Fatalf("without a TARS config: %s", env)
	}
}
