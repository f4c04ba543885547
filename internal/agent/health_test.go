package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/internal/testtool"
)

// notify runs an admin command on a real supervisor.
func (r *running) notify(command string) string {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got, err := r.sup.Notify(ctx, command)
	if err != nil {
		r.t.Fatalf("%s: %v", command, err)
	}
	return got
}

// notifyErr runs command and returns the error it answered, failing the
// test when it succeeded.
func (r *running) notifyErr(command string, kind error) error {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got, err := r.sup.Notify(ctx, command)
	if !errors.Is(err, kind) {
		r.t.Fatalf("%s: %q, %v; want an error of kind %q", command, got, err, kind)
	}
	return err
}

func TestForwardedCommandReachesHandlers(t *testing.T) {
	cfg := testConfig(2, "serve")
	cfg.HTTPAddress = freeAddr(t)
	r := run(t, cfg)
	var pids []string
	for i := 0; i < 2; i++ {
		pids = append(pids, r.waitLine(`worker \d \(pid (\d+)\) ready`)[1])
	}
	got := r.notify("echo hello  there")
	lines := strings.Split(got, "\n")
	if len(lines) != 2 {
		t.Fatalf("reply %q", got)
	}
	for i, l := range lines {
		if !regexp.MustCompile(`^` + strconv.Itoa(i) + `\((\d+)\): echo hello  there$`).MatchString(l) {
			t.Fatalf("line %q", l)
		}
	}
	if !strings.Contains(got, "("+pids[0]+")") || !strings.Contains(got, "("+pids[1]+")") {
		t.Fatalf("reply %q does not name pids %v", got, pids)
	}
	if err := r.notifyErr("no.such.command x", ErrUnknownCommand); err.Error() != "no.such.command x not support now!" {
		t.Fatalf("unknown command: %v", err)
	}
	if got := r.notify("preheatCheck"); got != "success" {
		t.Fatalf("preheatCheck: %q", got)
	}
}

// load runs clients that each open a new connection per request until
// stop is closed, and counts answers by pid and failures.
type load struct {
	mu       sync.Mutex
	pids     map[int]int
	failures []string
	total    atomic.Int64
	stop     chan struct{}
	wg       sync.WaitGroup
}

func startLoad(t *testing.T, addr string, clients int) *load {
	l := &load{pids: map[int]int{}, stop: make(chan struct{})}
	for i := 0; i < clients; i++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				_, pid, err := getOnce(addr)
				l.total.Add(1)
				l.mu.Lock()
				if err != nil {
					l.failures = append(l.failures, time.Now().Format("15:04:05.000000 ")+err.Error())
				} else {
					l.pids[pid]++
				}
				l.mu.Unlock()
			}
		}()
	}
	t.Cleanup(l.finish)
	return l
}

// waitMore waits until n more requests were made (answered or failed).
func (l *load) waitMore(t *testing.T, n int64) {
	t.Helper()
	want := l.total.Load() + n
	if !poll(20*time.Second, func() bool { return l.total.Load() >= want }) {
		t.Fatalf("the load made %d of %d requests in 20 s", l.total.Load(), want)
	}
}

// finishClean stops the load and fails t if any request failed.
func (l *load) finishClean(t *testing.T, during string) {
	t.Helper()
	l.finish()
	if len(l.failures) > 0 {
		t.Fatalf("%d of %d requests failed %s, first: %s", len(l.failures), l.total.Load(), during, l.failures[0])
	}
}

func (l *load) finish() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// getOnce sends one request on a new connection and returns the slot and
// pid of the worker that answered.
func getOnce(addr string) (slot, pid int, err error) {
	return getWithin(addr, 5*time.Second)
}

// getWithin is getOnce with the answer due within d.
func getWithin(addr string, d time.Duration) (slot, pid int, err error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(d))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		return 0, 0, err
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	if !strings.HasPrefix(s, "HTTP/1.1 200") {
		return 0, 0, fmt.Errorf("answer %q", s)
	}
	if _, err := fmt.Sscan(s[strings.Index(s, "\r\n\r\n")+4:], &slot, &pid); err != nil {
		return 0, 0, fmt.Errorf("body of %q: %v", s, err)
	}
	return slot, pid, nil
}

// TestRollingReloadUnderLoad: every worker is replaced while clients send
// requests; none fails, and the answers come from the old and then the new
// generation.
func TestRollingReloadUnderLoad(t *testing.T) {
	cfg := testConfig(2, "serve")
	cfg.HTTPAddress = freeAddr(t)
	r := run(t, cfg)
	old := map[int]bool{}
	for i := 0; i < 2; i++ {
		pid, _ := strconv.Atoi(r.waitLine(`worker \d \(pid (\d+)\) ready`)[1])
		old[pid] = true
	}
	l := startLoad(t, cfg.HTTPAddress, 4)
	l.waitMore(t, 50) // a steady state first
	got := r.notify("agent.reload")
	if !strings.HasPrefix(got, "ok: reloaded 2 workers") {
		t.Fatalf("reload: %q", got)
	}
	l.waitMore(t, 50)
	l.finishClean(t, "during the reload")
	st, err := r.sup.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	newGen := map[int]bool{}
	for _, w := range st.Workers {
		if w.Role == "current" {
			newGen[w.PID] = true
		}
	}
	for pid := range l.pids {
		if !old[pid] && !newGen[pid] {
			t.Fatalf("answer from pid %d: neither generation (old %v, new %v)", pid, old, newGen)
		}
	}
	for pid := range newGen {
		if old[pid] {
			t.Fatalf("pid %d was not replaced", pid)
		}
		if l.pids[pid] == 0 {
			t.Logf("new pid %d answered no request (the kernel spread them elsewhere)", pid)
		}
	}
	t.Logf("%d requests, 0 failed, by pid %v", l.total.Load(), l.pids)
}

func TestMemoryLimitRestartsWorker(t *testing.T) {
	cfg := testConfig(1, "grow-once")
	cfg.HTTPAddress = freeAddr(t)
	cfg.MaxMemoryRestart = 64 << 20
	cfg.Env["HELPER_DIR"] = t.TempDir()
	r := run(t, cfg)
	first := r.waitLine(`worker 0 \(pid (\d+)\) ready`)[1]
	m := r.waitLine(`worker 0 \(pid ` + first + `\) uses ([\d.]+) MiB of memory \(RSS\), over the limit of 64.0 MiB`)
	if rss, _ := strconv.ParseFloat(m[1], 64); rss <= 64 {
		t.Fatalf("logged RSS %s MiB", m[1])
	}
	replaced := waitEvent[WorkerReplaced](r, nil)
	if strconv.Itoa(replaced.OldPID) != first || replaced.Reason != "memory" {
		t.Fatalf("replaced %+v, want pid %s for memory", replaced, first)
	}
	if old := waitEvent[WorkerExited](r, nil); old.PID != replaced.OldPID || old.Cause != "memory" || !old.Exception || old.Restarting {
		t.Fatalf("exit of the worker over the limit: %+v", old)
	}
	if _, pid := get(t, cfg.HTTPAddress); pid != replaced.PID {
		t.Fatalf("answer from pid %d, want the replacement %d", pid, replaced.PID)
	}
	st, _ := r.sup.Status(context.Background())
	if st.Exceptions != 1 || st.Restarts["memory"] != 1 || st.Workers[0].RSS == 0 || st.Workers[0].RSS > 64<<20 {
		t.Fatalf("status %+v", st)
	}
}

func TestWorkersGetGOMEMLIMIT(t *testing.T) {
	cfg := testConfig(1, "unused")
	cfg.MaxMemoryRestart = 100 << 20
	env := strings.Join(baseEnv(cfg, nil), " ")
	if !strings.Contains(env, "GOMEMLIMIT=94371840") {
		t.Fatalf("env %s", env)
	}
	if env := strings.Join(baseEnv(cfg, []string{"GOMEMLIMIT=1GiB"}), " "); !strings.Contains(env, "GOMEMLIMIT=1GiB") || strings.Contains(env, "94371840") {
		t.Fatalf("a user's GOMEMLIMIT was overridden: %s", env)
	}
}

// startAgentProcess runs the test binary as an agent (agentHelper) with
// extra environment, optionally wrapped by a command (unshare), and returns
// its output lines.
func startAgentProcess(t *testing.T, wrap []string, env ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	args := append(wrap, os.Args[0])
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), append([]string{helperEnv + "=agent"}, env...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	return cmd, lines
}

// expectLine waits for a line matching pattern; every line seen is
// checked against forbidden.
func expectLine(t *testing.T, lines <-chan string, pattern, forbidden string) []string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	var bad *regexp.Regexp
	if forbidden != "" {
		bad = regexp.MustCompile(forbidden)
	}
	deadline := time.After(15 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("agent ended before a line matching %q", pattern)
			}
			if bad != nil && bad.MatchString(l) {
				t.Fatalf("unexpected line %q", l)
			}
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-deadline:
			t.Fatalf("no line matching %q", pattern)
			return nil
		}
	}
}

// TestSubreaperReapsOrphans: an orphan of a worker reparents to the agent
// (a subreaper), which reaps it without taking it for a worker.
func TestSubreaperReapsOrphans(t *testing.T) {
	cmd, lines := startAgentProcess(t, nil, "HELPER_WORKERS=1", "HELPER_WORKER=orphaner", "HELPER_SUBREAPER=1", "HELPER_ADDR="+freeAddr(t))
	expectLine(t, lines, `worker 0 \(pid \d+\) ready`, "")
	expectLine(t, lines, `reaped orphan pid \d+ \(code 7\)`, `exited unexpectedly`)
	if z := zombieChildren(cmd.Process.Pid); len(z) > 0 {
		t.Fatalf("zombies left under the agent: %v", z)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	expectLine(t, lines, `exiting with code 0`, `exited unexpectedly`)
}

// TestPIDNamespaceReapsOrphans runs the agent as PID 1 of a new PID
// namespace, as in a container.
func TestPIDNamespaceReapsOrphans(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a new PID namespace needs root")
	}
	unshare := testtool.Require(t, "unshare", "apt-get install util-linux")
	if out, err := exec.Command(unshare, "--pid", "--fork", "--mount-proc", "true").CombinedOutput(); err != nil {
		t.Skipf("unshare not permitted here: %v %s", err, out)
	}
	cmd, lines := startAgentProcess(t, []string{unshare, "--pid", "--fork", "--mount-proc"},
		"HELPER_WORKERS=2", "HELPER_WORKER=orphaner", "HELPER_ADDR="+freeAddr(t))
	expectLine(t, lines, `running as PID 1`, "")
	for i := 0; i < 2; i++ {
		expectLine(t, lines, `worker \d \(pid \d+\) ready`, `exited unexpectedly`)
	}
	expectLine(t, lines, `reaped orphan pid \d+ \(code 7\)`, `exited unexpectedly`)
	expectLine(t, lines, `reaped orphan pid \d+ \(code 7\)`, `exited unexpectedly`)
	agent := childrenOf(cmd.Process.Pid)
	if len(agent) != 1 {
		t.Fatalf("unshare has children %v", agent)
	}
	if z := zombieChildren(agent[0]); len(z) > 0 {
		t.Fatalf("zombies left under the agent: %v", z)
	}
	syscall.Kill(agent[0], syscall.SIGTERM)
	expectLine(t, lines, `exiting with code 0`, `exited unexpectedly`)
}

// childrenOf lists the child pids of pid.
func childrenOf(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			n, _ := strconv.Atoi(s)
			out = append(out, n)
		}
	}
	return out
}

// zombieChildren lists the children of pid that are zombies.
func zombieChildren(pid int) []int {
	var out []int
	for _, c := range childrenOf(pid) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c))
		if s := string(b); err == nil && strings.Contains(s[strings.LastIndexByte(s, ')'):], ") Z") {
			out = append(out, c)
		}
	}
	return out
}

// TestSystemdNotify: the messages arrive on a real unixgram socket, in
// order, READY=1 only after the last worker is ready, watchdog pings at
// half the watchdog interval.
func TestSystemdNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "400000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	cfg := testConfig(3, "serve")
	cfg.HTTPAddress = freeAddr(t)
	r := run(t, cfg)
	msgs := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	next := func() string {
		select {
		case m := <-msgs:
			return m
		case <-time.After(10 * time.Second):
			t.Fatal("no sd_notify message")
			return ""
		}
	}
	var seen []string
	for m := next(); m != "READY=1"; m = next() {
		seen = append(seen, m)
	}
	if last := seen[len(seen)-1]; last != "STATUS=3/3 workers ready, 0 restarts" {
		t.Fatalf("READY=1 after %q (all: %q)", last, seen)
	}
	var pings []time.Time
	for len(pings) < 3 {
		if m := next(); m == "WATCHDOG=1" {
			pings = append(pings, time.Now())
		}
	}
	for i := 1; i < len(pings); i++ {
		// Timers never fire early, so pings are at least 200 ms apart.
		if d := pings[i].Sub(pings[i-1]); d < 190*time.Millisecond {
			t.Fatalf("watchdog pings %v apart, want ≥ 200ms", d)
		}
	}
	r.signals <- syscall.SIGTERM
	for m := next(); m != "STOPPING=1"; m = next() {
	}
	if code := r.wait(10 * time.Second); code != 0 {
		t.Fatalf("code %d", code)
	}
}

func TestReaperRunsCommands(t *testing.T) {
	r := newReaper(false, newAgentLog(newLineSink().sink))
	defer r.close()
	var out strings.Builder
	cmd := exec.Command("sh", "-c", "echo out; echo err >&2; exit 3")
	cmd.Stdout, cmd.Stderr = &out, &out
	err := r.run(context.Background(), cmd)
	if err == nil || !strings.Contains(err.Error(), "code 3") || !strings.Contains(out.String(), "out\n") || !strings.Contains(out.String(), "err\n") {
		t.Fatalf("err %v, output %q", err, out.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := r.run(ctx, exec.Command("sleep", "30")); err == nil || !strings.Contains(err.Error(), "signal killed") {
		t.Fatalf("cancelled run: %v", err)
	}
	if err := r.run(context.Background(), exec.Command("true")); err != nil {
		t.Fatal(err)
	}
}

// TestScaleUnderLoad: agent.scale adds workers and removes the highest
// slots gracefully while clients send requests; none fails.
func TestScaleUnderLoad(t *testing.T) {
	cfg := testConfig(2, "serve")
	cfg.HTTPAddress = freeAddr(t)
	r := run(t, cfg)
	for i := 0; i < 2; i++ {
		r.waitLine(`worker \d \(pid \d+\) ready`)
	}
	l := startLoad(t, cfg.HTTPAddress, 4)
	if got := r.notify("agent.scale 4"); got != "ok: 4 workers (was 2)" {
		t.Fatalf("scale up: %q", got)
	}
	r.waitLine(`worker [23] \(pid \d+\) ready`)
	r.waitLine(`worker [23] \(pid \d+\) ready`)
	if got := r.notify("preheatCheck"); got != "success" {
		t.Fatalf("preheatCheck after scaling up: %q", got)
	}
	if got := r.notify("agent.scale 1"); got != "ok: 1 worker (was 4)" {
		t.Fatalf("scale down: %q", got)
	}
	for i := 0; i < 3; i++ {
		r.waitLine(`worker [123] \(pid \d+\) stopped \(scale down\)`)
	}
	l.waitMore(t, 50)
	l.finishClean(t, "while scaling")
	st, _ := r.sup.Status(context.Background())
	if st.Instances != 1 || len(st.Workers) != 1 || st.Exceptions != 0 {
		t.Fatalf("status after scaling down: %+v", st)
	}
}

// TestReloadWithBrokenReplacementKeepsServing: the new generation exits at
// start; the reload fails at the first slot and the old workers go on
// serving every request.
func TestReloadWithBrokenReplacementKeepsServing(t *testing.T) {
	cfg := testConfig(2, "serve-once")
	cfg.HTTPAddress = freeAddr(t)
	cfg.Env["HELPER_DIR"] = t.TempDir()
	r := run(t, cfg)
	old := map[int]bool{}
	for i := 0; i < 2; i++ {
		pid, _ := strconv.Atoi(r.waitLine(`worker \d \(pid (\d+)\) ready`)[1])
		old[pid] = true
	}
	l := startLoad(t, cfg.HTTPAddress, 2)
	err := r.notifyErr("agent.reload", ErrReloadFailed)
	if got := err.Error(); !strings.Contains(got, "reload failed: worker 0: replacement pid") || !strings.Contains(got, "before it was ready") {
		t.Fatalf("reload: %q", got)
	}
	l.waitMore(t, 50)
	l.finishClean(t, "after the failed reload")
	for pid := range l.pids {
		if !old[pid] {
			t.Fatalf("pid %d answered: not an old worker", pid)
		}
	}
	st, _ := r.sup.Status(context.Background())
	if st.Exceptions != 0 || st.Reloading {
		t.Fatalf("status %+v", st)
	}
}
