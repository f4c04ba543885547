package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/internal/agent"
	"github.com/nodeagent/node-agent/internal/control"
)

// upgradeRig is an agent of upgradeworker workers run by one build of
// node-agent, with a private control dir and log dir.
type upgradeRig struct {
	t    *testing.T
	name string
	addr string
	// metrics is the --metrics-address, local the --tars-local endpoint.
	metrics, local string
	env            []string
	ctlDir         string
	logDir         string
	a              *agentProcess
}

// goBuild is one `go build -ldflags LDFLAGS -o OUT PKG`.
type goBuild struct{ pkg, out, ldflags string }

// agentBuild builds node-agent stamped with version (and extra -X stamps)
// into out.
func agentBuild(out, version string, stamps ...string) goBuild {
	ldflags := "-X main.version=" + version
	for _, s := range stamps {
		ldflags += " -X " + s
	}
	return goBuild{pkg: ".", out: out, ldflags: ldflags}
}

// buildAll runs the builds at once (the links are the slow part).
func buildAll(t *testing.T, builds ...goBuild) {
	t.Helper()
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	for i, b := range builds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out, err := exec.Command("go", "build", "-ldflags", b.ldflags, "-o", b.out, b.pkg).CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("go build %s %s: %v\n%s", b.ldflags, b.pkg, err, out)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// workerBuild builds the upgradeworker into dir (see startUpgradeRig).
func workerBuild(dir string) goBuild {
	return goBuild{pkg: "./testdata/upgradeworker", out: filepath.Join(dir, "worker")}
}

// badBuild builds upgradebad failing as mode into out.
func badBuild(out, mode string) goBuild {
	return goBuild{pkg: "./testdata/upgradebad", out: out, ldflags: "-X main.mode=" + mode}
}

// startUpgradeRig runs bin with instances upgradeworker workers (built
// into dir by workerBuild) and waits until every worker is ready.
func startUpgradeRig(t *testing.T, bin, dir string, instances int, env ...string) *upgradeRig {
	t.Helper()
	return startRig(t, bin, dir, instances, rigOptions{env: env})
}

// rigOptions change startRig's agent: its command line prefixed by wrap
// (a program and its options, e.g. unshare), args added to its options,
// env to its environment.
type rigOptions struct{ wrap, args, env []string }

// startRig is startUpgradeRig with options.
func startRig(t *testing.T, bin, dir string, instances int, o rigOptions) *upgradeRig {
	t.Helper()
	worker := filepath.Join(dir, "worker")
	rt, err := os.MkdirTemp("", "rt") // short: a unix socket path holds 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(rt) })
	r := &upgradeRig{t: t, name: "upg", addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		env: []string{"XDG_RUNTIME_DIR=" + rt}, ctlDir: filepath.Join(rt, "node-agent"), logDir: t.TempDir(),
		metrics: fmt.Sprintf("127.0.0.1:%d", freePort(t)), local: fmt.Sprintf("tcp -h 127.0.0.1 -p %d -t 3000", freePort(t))}
	args := []string{worker, "-n", r.name, "-i", strconv.Itoa(instances),
		"--http-address", r.addr, "-l", r.logDir, "--metrics-address", r.metrics, "--tars-local", r.local}
	args = append(args, o.args...)
	if len(o.wrap) > 0 {
		args = append(append(o.wrap[1:len(o.wrap):len(o.wrap)], bin), args...)
		bin = o.wrap[0]
	}
	r.a = startAgent(t, bin, r.addr, args, append(r.env, o.env...)...)
	if !poll(30*time.Second, func() bool { return r.status().Ready() == instances }) {
		t.Fatalf("%d of %d workers ready after 30 s", r.status().Ready(), instances)
	}
	return r
}

// status asks the agent for its status (the zero Status when it does not
// answer).
func (r *upgradeRig) status() agent.Status {
	var st agent.Status
	text, err := r.call(control.Request{Op: control.OpStatus})
	if err == nil {
		json.Unmarshal([]byte(text), &st)
	}
	return st
}

func (r *upgradeRig) call(req control.Request) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return control.Call(ctx, control.Path(r.ctlDir, r.name), req)
}

// upgrade runs `bin upgrade NAME --binary to` and returns its output and
// exit code.
func (r *upgradeRig) upgrade(bin, to string) (string, int) {
	r.t.Helper()
	cmd := exec.Command(bin, "upgrade", r.name, "--binary", to)
	cmd.Env = append(os.Environ(), r.env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		r.t.Fatal(err)
	}
	return strings.TrimSpace(string(out)), code
}

// workerPIDs returns the pid of each slot's worker.
func workerPIDs(st agent.Status) map[int]int {
	pids := map[int]int{}
	for _, w := range st.Workers {
		pids[w.ID] = w.PID
	}
	return pids
}

// startClosingLoad is n clients sending GET / on a new connection each
// time, counted in l like the keep-alive clients.
func startClosingLoad(l *keepAliveLoad, addr string, n int) {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for range n {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				resp, err := c.Get("http://" + addr + "/")
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					l.record("", err)
					continue
				}
				l.record(resp.Header.Get("X-Worker-Pid"), nil)
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
}

// scrapeMetrics scrapes /metrics at addr back to back until finish,
// counting the failures in the returned load.
func scrapeMetrics(addr string) *keepAliveLoad {
	l := &keepAliveLoad{stop: make(chan struct{}), answers: map[string]int{}}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for {
			select {
			case <-l.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			resp, err := c.Get("http://" + addr + "/metrics")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			l.record("metrics", err)
		}
	}()
	return l
}

// TestUpgradeInPlaceUnderLoad is the proof of the upgrade in place: three
// upgrades in a row between two builds of different versions under
// keep-alive and close-per-request load. No request fails, the agent and
// its workers keep their pids, the restart counters do not move, the
// agent answers with the new version, and the service log has every line
// the workers wrote, once.
func TestUpgradeInPlaceUnderLoad(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "node-agent-a"), filepath.Join(dir, "node-agent-b")
	buildAll(t, agentBuild(a, "9.0.0-a"), agentBuild(b, "9.0.0-b"), workerBuild(dir))
	r := startUpgradeRig(t, a, dir, 4)
	before := r.status()
	if before.Version != "9.0.0-a" {
		t.Fatalf("version %q before the upgrades, want 9.0.0-a", before.Version)
	}
	pids := workerPIDs(before)

	load := startKeepAliveLoad(r.addr, 4)
	startClosingLoad(load, r.addr, 2)
	defer load.finish()
	scrapes := scrapeMetrics(r.metrics)
	defer scrapes.finish()
	answered := func(min int) {
		t.Helper()
		base := load.count(func(string) bool { return true })
		if !poll(30*time.Second, func() bool { return load.count(func(string) bool { return true }) >= base+min }) {
			t.Fatalf("the load got fewer than %d answers in 30 s", min)
		}
	}
	answered(200)
	from, to := "9.0.0-a", "9.0.0-b"
	for i, bin := range []string{b, a, b} {
		out, code := r.upgrade(a, bin)
		want := fmt.Sprintf("upgraded in place: %s → %s, pid %d unchanged, 4 workers adopted", from, to, r.a.cmd.Process.Pid)
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("upgrade %d to %s: exit %d, %q; want %q", i+1, to, code, out, want)
		}
		t.Logf("upgrade %d: %s", i+1, out)
		st := r.status()
		switch {
		case st.Version != to:
			t.Fatalf("after upgrade %d: version %q, want %q", i+1, st.Version, to)
		case st.PID != r.a.cmd.Process.Pid:
			t.Fatalf("after upgrade %d: agent pid %d, want %d", i+1, st.PID, r.a.cmd.Process.Pid)
		case fmt.Sprint(workerPIDs(st)) != fmt.Sprint(pids):
			t.Fatalf("after upgrade %d: worker pids %v, want %v", i+1, workerPIDs(st), pids)
		case fmt.Sprint(st.Restarts) != fmt.Sprint(before.Restarts) || st.Exceptions != before.Exceptions:
			t.Fatalf("after upgrade %d: restarts %v exceptions %d, want %v and %d", i+1, st.Restarts, st.Exceptions, before.Restarts, before.Exceptions)
		case st.Ready() != 4:
			t.Fatalf("after upgrade %d: %d workers ready", i+1, st.Ready())
		}
		if v, err := r.call(control.Request{Op: control.OpCommand, Command: "tars.viewversion"}); err != nil || !strings.Contains(v, to) {
			t.Fatalf("after upgrade %d: tars.viewversion answered %q, %v; want %s", i+1, v, err, to)
		}
		// AdminF and the metrics, on the listeners handed over.
		if v, code := ctlReply("--local", r.local, "tars.viewversion"); code != 0 || v != to {
			t.Fatalf("after upgrade %d: AdminF tars.viewversion answered %q (exit %d), want %s", i+1, v, code, to)
		}
		answered(200)
		from, to = to, from
	}
	if failures := load.finish(); len(failures) > 0 {
		t.Fatalf("%d requests failed across the upgrades, first: %v", len(failures), failures[0])
	}
	t.Logf("%d answers, none failed", load.count(func(string) bool { return true }))
	// A scrape in flight at an exec is answered first; one made during
	// the hand-over waits in the listener's backlog (never closed).
	if failures := scrapes.finish(); len(failures) > 0 {
		t.Fatalf("%d metrics scrapes (a connection each) failed across the upgrades, first: %v", len(failures), failures[0])
	}

	r.a.cmd.Process.Signal(syscall.SIGTERM)
	if code := waitExit(t, r.a, 30*time.Second); code != 0 {
		t.Fatalf("the agent exited with %d after SIGTERM", code)
	}
	checkEveryLineOnce(t, filepath.Join(r.logDir, r.name, r.name+".log"), 2*4)
}

// numbered matches the workers' numbered lines ("out ID N", "rec ID N")
// with the worker's pid.
var numbered = regexp.MustCompile(`^[^|]*\|(\d+)\|.*\|(out|rec) (\d+) (\d+)$`)

// checkEveryLineOnce checks the service log at path holds, for each of
// the workers' numbered streams (two per worker process, at least
// streams), every number from 1 to the last, once.
func checkEveryLineOnce(t *testing.T, path string, streams int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string][]int{} // "out 0" → count per number
	for _, line := range strings.Split(string(b), "\n") {
		m := numbered.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[4])
		key := "pid " + m[1] + " " + m[2] + " " + m[3]
		for len(seen[key]) <= n {
			seen[key] = append(seen[key], 0)
		}
		seen[key][n]++
	}
	if len(seen) < streams {
		t.Fatalf("%d numbered streams in %s, want at least %d", len(seen), path, streams)
	}
	total := 0
	for key, counts := range seen {
		for n := 1; n < len(counts); n++ {
			if counts[n] != 1 {
				t.Fatalf("%s: line %q %d is there %d times (of %d lines)", path, key, n, counts[n], len(counts)-1)
			}
		}
		total += len(counts) - 1
	}
	t.Logf("%d numbered lines in the service log, each once", total)
}

// TestUpgradeRefusals: a new binary that exits at start, one that hangs,
// one that hangs in the hand-over check and one of another hand-over
// protocol are refused with the reason, and the old program keeps
// serving without a failed request; so are an upgrade to a file that is
// not an executable, one whose exec fails after the checks (the frozen
// agent thaws, losing no log line), a second upgrade while one is being
// checked and an upgrade during a reload. Then SIGUSR2 and `ctl agent.upgrade PATH` (a
// relative PATH) upgrade the agent.
func TestUpgradeRefusals(t *testing.T) {
	dir := t.TempDir()
	a, other := filepath.Join(dir, "node-agent-a"), filepath.Join(dir, "node-agent-p3")
	builds := []goBuild{agentBuild(a, "9.0.0-a"), workerBuild(dir),
		agentBuild(other, "9.0.0-p3", "github.com/nodeagent/node-agent/internal/agent.handoverProtocol=3")}
	bad := map[string]string{}
	for _, mode := range []string{"exit", "hang", "hang-check", "vanish"} {
		bad[mode] = filepath.Join(dir, "bad-"+mode)
		builds = append(builds, badBuild(bad[mode], mode))
	}
	buildAll(t, builds...)
	// Workers slow to listen make a reload last.
	r := startUpgradeRig(t, a, dir, 2, "UPGRADEWORKER_DELAY=1500ms")
	before := r.status()
	load := startKeepAliveLoad(r.addr, 2)
	defer load.finish()
	refused := func(to, want string) {
		t.Helper()
		out, code := r.upgrade(a, to)
		if code != 1 || !strings.Contains(out, "upgrade refused") || !strings.Contains(out, want) {
			t.Fatalf("upgrade to %s: exit %d, %q; want exit 1, refused: %q", filepath.Base(to), code, out, want)
		}
		t.Logf("%s: %s", filepath.Base(to), out)
		st := r.status()
		if st.Version != "9.0.0-a" || fmt.Sprint(workerPIDs(st)) != fmt.Sprint(workerPIDs(before)) || st.Ready() != 2 {
			t.Fatalf("after the refused upgrade to %s: version %q, workers %v (%d ready), want 9.0.0-a, %v", filepath.Base(to), st.Version, workerPIDs(st), st.Ready(), workerPIDs(before))
		}
		// The endpoints paused before the exec serve again.
		if v, code := ctlReply("--local", r.local, "tars.viewversion"); code != 0 || v != "9.0.0-a" {
			t.Fatalf("after the refused upgrade to %s: AdminF answered %q (exit %d)", filepath.Base(to), v, code)
		}
		resp, err := http.Get("http://" + r.metrics + "/metrics")
		if err != nil {
			t.Fatalf("after the refused upgrade to %s: /metrics: %v", filepath.Base(to), err)
		}
		resp.Body.Close()
	}
	refused(bad["exit"], "--version: bad-exit: code 3: upgradebad: failing at start")
	refused(bad["hang"], "--version: no answer within 5s (killed)")
	refused(other, `(9.0.0-p3) cannot adopt this agent: node-agent-p3: code 1: node-agent 9.0.0-p3: hand-over protocol "2", this program reads protocols "3" and "1" only`)
	refused(r.logDir, "is not an executable file")
	// Checked, then the exec fails: the frozen agent thaws.
	refused(bad["vanish"], "exec "+bad["vanish"]+": no such file or directory")

	// A second upgrade while one is being checked is refused.
	first := make(chan string, 1)
	go func() { out, _ := r.upgrade(a, bad["hang-check"]); first <- out }()
	if !poll(30*time.Second, func() bool { return pgrepExact(bad["hang-check"]) }) {
		t.Fatal("the first upgrade never ran its check")
	}
	if out, code := r.upgrade(a, a); code != 1 || !strings.Contains(out, "an upgrade is already in progress") {
		t.Fatalf("overlapping upgrade: exit %d, %q", code, out)
	}
	if out := <-first; !strings.Contains(out, "(9.9.9-hangs) cannot adopt this agent: no answer within 5s (killed)") {
		t.Fatalf("upgrade to a binary hanging in its check: %q", out)
	}

	// During a reload: refused, saying so.
	r.a.cmd.Process.Signal(syscall.SIGHUP)
	if !poll(10*time.Second, func() bool { return r.status().Reloading }) {
		t.Fatal("the reload never started")
	}
	if out, code := r.upgrade(a, a); code != 1 || !strings.Contains(out, "a reload is in progress") {
		t.Fatalf("upgrade during a reload: exit %d, %q", code, out)
	}
	// Over once the old workers are gone too (an upgrade waits for them).
	if !poll(60*time.Second, func() bool { st := r.status(); return !st.Reloading && st.Ready() == 2 && len(st.Workers) == 2 }) {
		t.Fatal("the reload never ended")
	}
	if failures := load.finish(); len(failures) > 0 {
		t.Fatalf("%d requests failed, first: %v", len(failures), failures[0])
	}

	// SIGUSR2 and ctl agent.upgrade (a relative path) upgrade too.
	pids := workerPIDs(r.status())
	r.a.cmd.Process.Signal(syscall.SIGUSR2)
	agentLog := filepath.Join(r.logDir, r.name, r.name+"_agent.log")
	if !poll(30*time.Second, func() bool {
		b, _ := os.ReadFile(agentLog)
		return strings.Contains(string(b), "upgraded in place: 9.0.0-a → 9.0.0-a")
	}) {
		t.Fatal("SIGUSR2 did not upgrade the agent")
	}
	rel, err := filepath.Rel(".", a)
	if err != nil {
		rel = a
	}
	cmd := exec.Command(a, "ctl", "agent.upgrade", rel)
	cmd.Env = append(os.Environ(), r.env...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "upgraded in place: 9.0.0-a → 9.0.0-a") {
		t.Fatalf("ctl agent.upgrade %s: %v, %s", rel, err, out)
	}
	if st := r.status(); fmt.Sprint(workerPIDs(st)) != fmt.Sprint(pids) || st.PID != r.a.cmd.Process.Pid {
		t.Fatalf("after SIGUSR2 and ctl: agent pid %d, workers %v; want %d, %v", st.PID, workerPIDs(st), r.a.cmd.Process.Pid, pids)
	}
	r.a.cmd.Process.Signal(syscall.SIGTERM)
	if code := waitExit(t, r.a, 30*time.Second); code != 0 {
		t.Fatalf("the agent exited with %d after SIGTERM", code)
	}
	// Two workers, then their two replacements by the reload.
	checkEveryLineOnce(t, filepath.Join(r.logDir, r.name, r.name+".log"), 2*2*2)
}

// TestKillDuringUpgrade: kill -9 of the agent in the middle of a
// hand-over leaves no worker behind: they are gone within 1 s, as after
// any kill -9 of the agent. Twice: while the new binary hangs in its
// hand-over check, and as soon as the agent logs that it execs the new
// program (the kill lands at the exec or in the new program's start).
func TestKillDuringUpgrade(t *testing.T) {
	dir := t.TempDir()
	a, hang := filepath.Join(dir, "node-agent-a"), filepath.Join(dir, "bad-hang-check")
	buildAll(t, agentBuild(a, "9.0.0-a"), badBuild(hang, "hang-check"), workerBuild(dir))
	for _, phase := range []struct{ name, to, logged string }{
		{"during the check", hang, "checking the new binary"},
		{"at the exec", a, "handing over to"},
	} {
		t.Run(phase.name, func(t *testing.T) {
			r := startUpgradeRig(t, a, dir, 2)
			pids := workerPIDs(r.status())
			cmd := exec.Command(a, "upgrade", r.name, "--binary", phase.to)
			cmd.Env = append(os.Environ(), r.env...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Wait()
			agentLog := filepath.Join(r.logDir, r.name, r.name+"_agent.log")
			deadline := time.Now().Add(30 * time.Second)
			for {
				b, _ := os.ReadFile(agentLog)
				if strings.Contains(string(b), phase.logged) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the agent never logged %q", phase.logged)
				}
				time.Sleep(time.Millisecond) // the exec is a few ms away
			}
			r.a.cmd.Process.Kill()
			killed := time.Now()
			for _, pid := range pids {
				if !poll(time.Second-time.Since(killed), func() bool { return exited(pid) }) {
					t.Fatalf("worker pid %d still runs %v after kill -9 of the agent during the upgrade", pid, time.Since(killed).Round(time.Millisecond))
				}
			}
			t.Logf("the workers were gone %v after kill -9 of the agent", time.Since(killed).Round(time.Millisecond))
		})
	}
}

// pgrepExact reports whether a process runs the executable path.
func pgrepExact(path string) bool {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if exe, err := os.Readlink("/proc/" + e.Name() + "/exe"); err == nil && exe == path {
			return true
		}
	}
	return false
}

// exited reports whether pid ended: gone, or a zombie its new parent has
// not reaped yet.
func exited(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}
