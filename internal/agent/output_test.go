package agent

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/internal/agent/config"
	"github.com/nodeagent/node-agent/internal/logs"
)

// TestOpenOutputLayout checks the log file layout of SPEC §9.
func TestOpenOutputLayout(t *testing.T) {
	cases := []struct{ name, app, agent string }{
		{"Sms.Gateway", "Sms/Gateway/Sms.Gateway.log", "Sms/Gateway/Sms.Gateway_agent.log"},
		{"A.B.C", "A/B.C/A.B.C.log", "A/B.C/A.B.C_agent.log"},
		{"gateway", "gateway/gateway.log", "gateway/gateway_agent.log"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			out, err := OpenOutput(&config.Config{Name: c.name, LogDir: dir, AppLogMaxSize: 10 << 20, AppLogMaxFiles: 3})
			if err != nil {
				t.Fatal(err)
			}
			out.App.Write(logs.Record{Time: time.Now(), PID: 7, Level: logs.LevelInfo, Message: "from a worker"})
			out.Agent.Write(logs.Record{Time: time.Now(), PID: 8, Level: logs.LevelInfo, Message: "from the agent"})
			out.Close()
			for file, want := range map[string]string{c.app: "|7|INFO|from a worker\n", c.agent: "|8|INFO|from the agent\n"} {
				b, err := os.ReadFile(filepath.Join(dir, file))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasSuffix(string(b), want) || strings.Count(string(b), "\n") != 1 {
					t.Fatalf("%s holds %q, want one line ending %q", file, b, want)
				}
			}
		})
	}
}

func TestOpenOutputUnwritableDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	os.WriteFile(file, nil, 0o644)
	if _, err := OpenOutput(&config.Config{Name: "A.S", LogDir: file}); err == nil {
		t.Fatal("a log root that is a file was accepted")
	}
}

// TestOpenOutputPermissionDenied opens the output as nobody in a log root
// owned by root: one clear error, the agent's exit code 2.
func TestOpenOutputPermissionDenied(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	root := filepath.Join(dir, "logs")
	os.Mkdir(root, 0o755)
	cmd := asNobody(t, "open-output")
	cmd.Env = append(cmd.Env, "HELPER_DIR="+root)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errorsAs(err, &exit) || exit.ExitCode() != ExitUsage {
		t.Fatalf("exit %v, want %d; output %q", err, ExitUsage, out)
	}
	if want := "log directory: mkdir " + filepath.Join(root, "A") + ": permission denied\n"; string(out) != want {
		t.Fatalf("error %q, want %q", out, want)
	}
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*target = e
	return ok
}

// asNobody returns a command running the test binary as helper name under
// the user nobody; it skips unless the test runs as root.
func asNobody(t *testing.T, name string) *exec.Cmd {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("switching users needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody:", err)
	}
	exe := executableByAll(t, "helper")
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"="+name)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}}
	return cmd
}

func TestOutputMaxSizeRaisedOnce(t *testing.T) {
	dir := t.TempDir()
	out, err := OpenOutput(&config.Config{Name: "A.S", LogDir: dir, AppLogMaxSize: 4096, AppLogMaxFiles: 2})
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	b, _ := os.ReadFile(filepath.Join(dir, "A/S/A.S_agent.log"))
	if strings.Count(string(b), "\n") != 1 || !strings.Contains(string(b), "|WARN|--applog-max-size 4096 raised to 1048576 bytes") {
		t.Fatalf("agent log %q", b)
	}
}

// fileRun is a supervisor under test writing to real log files.
type fileRun struct {
	t       *testing.T
	sup     *Supervisor
	out     *Output
	app     string // the service log's path
	agent   string // the agent log's path
	signals chan os.Signal
	code    chan int
}

// runToFiles runs a supervisor for cfg with its logs under a temporary
// log dir, as service A.S; it is stopped when the test ends.
func runToFiles(t *testing.T, cfg *config.Config) *fileRun {
	t.Helper()
	cfg.Name, cfg.LogDir = "A.S", t.TempDir()
	if cfg.AppLogMaxSize == 0 {
		cfg.AppLogMaxSize = 100 << 20
	}
	if cfg.AppLogMaxFiles == 0 {
		cfg.AppLogMaxFiles = 2
	}
	out, err := OpenOutput(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &fileRun{t: t, out: out, app: filepath.Join(cfg.LogDir, "A/S/A.S.log"), agent: filepath.Join(cfg.LogDir, "A/S/A.S_agent.log"),
		signals: make(chan os.Signal, 2), code: make(chan int, 1)}
	s, err := New(cfg, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.sup = s
	go func() { r.code <- s.Run(context.Background(), r.signals) }()
	t.Cleanup(func() {
		r.signals <- syscall.SIGTERM
		select {
		case <-r.code:
		case <-time.After(10 * time.Second):
			r.signals <- syscall.SIGTERM
			<-r.code
			t.Error("supervisor did not stop within 10 s")
		}
		out.Close()
	})
	return r
}

// waitRecord polls the file at path until a record matches pattern and
// returns its submatches.
func (r *fileRun) waitRecord(path, pattern string) []string {
	r.t.Helper()
	re := regexp.MustCompile(`(?m)` + pattern)
	var b []byte
	var m []string
	if !poll(20*time.Second, func() bool {
		b, _ = os.ReadFile(path)
		m = re.FindStringSubmatch(string(b))
		return m != nil
	}) {
		r.t.Fatalf("no record matching %q in %s; it holds:\n%s", pattern, path, b)
	}
	return m
}

// waitWritten polls until the service log has written n records.
func (r *fileRun) waitWritten(n uint64, within time.Duration) {
	r.t.Helper()
	if !poll(within, func() bool { return r.out.Stats().App.Written >= n }) {
		r.t.Fatalf("%d records written after %v, want %d", r.out.Stats().App.Written, within, n)
	}
}

// TestOutputReopenOnSIGUSR1 is logrotate's create mode: the service log is
// renamed, SIGUSR1 reopens, and the next lines go to a new file.
func TestOutputReopenOnSIGUSR1(t *testing.T) {
	r := runToFiles(t, testConfig(1, "echo-on-usr2"))
	pid, _ := strconv.Atoi(r.waitRecord(r.app, `^[^|]+\|(\d+)\|INFO\|waiting for SIGUSR2$`)[1])
	syscall.Kill(pid, syscall.SIGUSR2)
	r.waitRecord(r.app, `\|ERROR\|err 0$`)
	if err := os.Rename(r.app, r.app+".1"); err != nil {
		t.Fatal(err)
	}
	r.signals <- syscall.SIGUSR1
	r.waitRecord(r.agent, `\|INFO\|log files reopened$`)
	syscall.Kill(pid, syscall.SIGUSR2)
	r.waitRecord(r.app, `\|ERROR\|err 1$`)
	r.waitRecord(r.app, `\|INFO\|out 1$`) // stdout has its own pump
	old, _ := os.ReadFile(r.app + ".1")
	cur, _ := os.ReadFile(r.app)
	if strings.Contains(string(old), "err 1") || strings.Contains(string(cur), "err 0") {
		t.Fatalf("renamed file:\n%s\nnew file:\n%s", old, cur)
	}
}

// TestOutputLevelChangeLive: SetLevel on a running agent filters a live
// worker's stdout (INFO) and lets stderr (ERROR) through, then back.
// stdout and stderr have a pump each, so a round's stderr line says
// nothing of its stdout line: the test waits for "out N" itself, or, at
// ERROR, for the service log to count it filtered.
func TestOutputLevelChangeLive(t *testing.T) {
	r := runToFiles(t, testConfig(1, "echo-on-usr2"))
	pid, _ := strconv.Atoi(r.waitRecord(r.app, `^[^|]+\|(\d+)\|INFO\|waiting for SIGUSR2$`)[1])
	echo := func(n int) {
		syscall.Kill(pid, syscall.SIGUSR2)
		r.waitRecord(r.app, `\|ERROR\|err `+strconv.Itoa(n)+`$`)
	}
	echo(0)
	r.waitRecord(r.app, `\|INFO\|out 0$`)
	r.out.SetLevel(config.LevelError)
	if r.out.Level() != config.LevelError {
		t.Fatalf("level %q", r.out.Level())
	}
	filtered := r.out.Stats().AppFiltered
	echo(1)
	if !poll(20*time.Second, func() bool { return r.out.Stats().AppFiltered > filtered }) {
		t.Fatal("out 1 was never filtered at ERROR")
	}
	r.out.SetLevel(config.LevelDebug)
	echo(2)
	r.waitRecord(r.app, `\|INFO\|out 2$`)
	b, _ := os.ReadFile(r.app)
	var stdout []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "|INFO|out ") {
			stdout = append(stdout, l[strings.LastIndexByte(l, '|')+1:])
		}
	}
	if strings.Join(stdout, ",") != "out 0,out 2" {
		t.Fatalf("stdout records %q: out 1 should have been dropped at ERROR", stdout)
	}
	r.out.SetLevel("LOUD")
	if r.out.Level() != config.LevelDebug {
		t.Fatalf("an invalid level changed the level to %q", r.out.Level())
	}
}

// TestSetLogLevelReachesLiveWorker: tars.setloglevel through the agent
// filters the service log in the agent (stdout lines) and in a live linked
// worker, whose Logger stops formatting DEBUG; and back. The command is
// answered before the worker has applied it, so the test signals the
// worker until it reports the new level. The worker's records come in
// order on its channel, so a round's "error N" vouches for its "debug N"
// and "info N"; its stdout has a pump of its own, so "out N" is waited for
// where it must be written and left unchecked at ERROR
// (TestOutputLevelChangeLive checks the agent filters stdout).
func TestSetLogLevelReachesLiveWorker(t *testing.T) {
	r := runToFiles(t, testConfig(1, "log-on-usr2"))
	pid, _ := strconv.Atoi(r.waitRecord(r.app, `^[^|]+\|(\d+)\|INFO\|waiting for SIGUSR2$`)[1])
	notify := func(cmd string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if got, err := r.sup.Notify(ctx, cmd); err != nil || !strings.HasSuffix(got, " succ") {
			t.Fatalf("%s: %q, %v", cmd, got, err)
		}
	}
	n := 0
	// echo signals the worker until one round reports debug, and returns
	// the number of that round.
	echo := func(debug bool) int {
		for ; n < 100; n++ {
			syscall.Kill(pid, syscall.SIGUSR2)
			m := r.waitRecord(r.app, fmt.Sprintf(`\|ERROR\|err %d debug=(true|false)$`, n))
			r.waitRecord(r.app, fmt.Sprintf(`\|ERROR\|output_helpers_test.go:\d+\|error %d$`, n))
			if m[1] == strconv.FormatBool(debug) {
				if debug { // the agent is at DEBUG too: stdout is written
					r.waitRecord(r.app, fmt.Sprintf(`\|INFO\|out %d$`, n))
				}
				n++
				return n - 1
			}
		}
		t.Fatalf("the worker never reported debug=%v", debug)
		return 0
	}
	first := echo(true)
	notify("tars.setloglevel error")
	quiet := echo(false)
	notify("tars.setloglevel DEBUG")
	last := echo(true)
	for _, round := range []int{first, last} {
		for _, rec := range []string{`\|DEBUG\|output_helpers_test.go:\d+\|debug `, `\|INFO\|output_helpers_test.go:\d+\|info `} {
			r.waitRecord(r.app, rec+strconv.Itoa(round)+"$")
		}
	}
	b, _ := os.ReadFile(r.app)
	// From the ERROR command to the round that reported it applied, no
	// record below ERROR: the agent drops what the worker still sent,
	// then the worker drops its records itself.
	for round := first + 1; round <= quiet; round++ {
		if m := regexp.MustCompile(fmt.Sprintf(`(?m)\|(debug|info) %d$`, round)).Find(b); m != nil {
			t.Fatalf("round %d at ERROR wrote %q", round, m)
		}
	}
}

// logFiles returns the service log and its backups, oldest first.
func logFiles(t *testing.T, path string) []string {
	t.Helper()
	backups, err := filepath.Glob(strings.TrimSuffix(path, ".log") + "-*.log")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(backups)
	return append(backups, path)
}

// checkNumbered reads the records of numberedHelper workers from files and
// checks that each worker's lines 0..lines-1 are there exactly once, in
// order, whole, at INFO, from one pid per worker, followed by its "done".
func checkNumbered(t *testing.T, files []string, workers, lines, long int) {
	t.Helper()
	next := make([]int, workers)
	pids := make([]string, workers)
	done := 0
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 2*logs.MaxRecord)
		for sc.Scan() {
			line := sc.Bytes()
			rest, ok := recordBody(line)
			if !ok {
				t.Fatalf("%s: malformed record %.120q", name, line)
			}
			if bytes.HasPrefix(rest.msg, []byte("done w")) {
				done++
				continue
			}
			var w, n, pad int
			fields := bytes.SplitN(rest.msg, []byte(" "), 3)
			if len(fields) == 3 {
				w, _ = strconv.Atoi(string(fields[0][1:]))
				n, _ = strconv.Atoi(string(fields[1]))
				pad = len(fields[2])
			}
			if len(fields) != 3 || w >= workers || n != next[w] || rest.level != "INFO" || strings.Count(string(fields[2]), "p") != pad {
				t.Fatalf("%s: record %.120q; worker %d expected line %d", name, line, w, next[w])
			}
			want := n * 7 % 40
			if long > 0 && n%long == long-1 {
				want = 200 << 10
			}
			if pad != want {
				t.Fatalf("%s: worker %d line %d has %d bytes of padding, want %d", name, w, n, pad, want)
			}
			if pids[w] == "" {
				pids[w] = rest.pid
			} else if pids[w] != rest.pid {
				t.Fatalf("worker %d: pid %s, then %s", w, pids[w], rest.pid)
			}
			next[w]++
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	for w, n := range next {
		if n != lines {
			t.Fatalf("worker %d: %d lines, want %d", w, n, lines)
		}
	}
	if done != workers {
		t.Fatalf("%d done records, want %d", done, workers)
	}
}

type body struct {
	pid, level string
	msg        []byte
}

// recordBody splits "YYYY-MM-DD HH:MM:SS|PID|LEVEL|MSG".
func recordBody(line []byte) (body, bool) {
	parts := bytes.SplitN(line, []byte("|"), 4)
	if len(parts) != 4 || len(parts[0]) != 19 {
		return body{}, false
	}
	if _, err := time.ParseInLocation("2006-01-02 15:04:05", string(parts[0]), time.Local); err != nil {
		return body{}, false
	}
	return body{pid: string(parts[1]), level: string(parts[2]), msg: parts[3]}, true
}

// TestMillionLinesThroughRotations: one worker prints 1e6 numbered lines
// into a service log rotated at 1 MiB (about 60 rotations); every line is
// in the kept files exactly once, in order, whole.
func TestMillionLinesThroughRotations(t *testing.T) {
	if testing.Short() {
		t.Skip("1e6 lines")
	}
	const lines = 1000000
	cfg := testConfig(1, "numbered")
	cfg.Env["HELPER_LINES"] = strconv.Itoa(lines)
	cfg.AppLogMaxSize, cfg.AppLogMaxFiles = 1<<20, 1000
	r := runToFiles(t, cfg)
	r.waitWritten(lines+1, 60*time.Second)
	files := logFiles(t, r.app)
	if len(files) < 21 {
		t.Fatalf("%d files: fewer than 20 rotations", len(files))
	}
	checkNumbered(t, files, 1, lines, 0)
}

// TestWorkerLongLinesStayWhole: lines of 200 KiB, more than three pipe
// buffers, arrive whole between short ones.
func TestWorkerLongLinesStayWhole(t *testing.T) {
	const lines = 400
	cfg := testConfig(1, "numbered")
	cfg.Env["HELPER_LINES"] = strconv.Itoa(lines)
	cfg.Env["HELPER_LONG"] = "20"
	r := runToFiles(t, cfg)
	r.waitWritten(lines+1, 20*time.Second)
	checkNumbered(t, []string{r.app}, 1, lines, 20)
}

// TestConcurrentWorkersNeverInterleave: 32 workers write at once into one
// service log; every record is whole and each worker's are in order.
func TestConcurrentWorkersNeverInterleave(t *testing.T) {
	const workers, lines = 32, 2000
	cfg := testConfig(workers, "numbered")
	cfg.Env["HELPER_LINES"] = strconv.Itoa(lines)
	cfg.Env["HELPER_BUF"] = "4000" // 16 writes each, cutting lines
	r := runToFiles(t, cfg)
	r.waitWritten(workers*(lines+1), 30*time.Second)
	checkNumbered(t, []string{r.app}, workers, lines, 0)
}

// TestConsoleOutputStats: without a log dir the output is stdout, and the
// counters are readable.
func TestConsoleOutputStats(t *testing.T) {
	out, err := OpenOutput(&config.Config{Name: "A.S", AppLogLevel: config.LevelWarn})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if out.App.Destination() != out.Agent.Destination() || out.Level() != config.LevelWarn || out.Agent.Level() != logs.LevelDebug {
		t.Fatal("console output: one destination, service log at WARN, agent log unfiltered")
	}
	out.App.Write(logs.Record{Time: time.Now(), Level: logs.LevelInfo, Message: "filtered"})
	if st := out.Stats(); st.App.Written+st.App.Dropped+st.App.Lost != 0 {
		t.Fatalf("a filtered record was counted: %+v", st)
	}
	if err := out.Reopen(); err != nil {
		t.Fatal(err)
	}
	_ = io.Discard
}

// burstRecords is how many records log-burst-then-exit logs before it
// exits: as many as the test's log channel holds, so that the agent's
// reader, blocked on the full channel, leaves the last ones in the
// worker's channel until the test reads.
const burstRecords = 4096

// TestLastRecordsBeforeExit: a worker that logs a burst of records and
// exits at once has every record in the log, before the line of its exit,
// even when the agent's log is behind at the exit: the agent reads the
// worker's channel to the end of what it sent before it handles the exit
// (it used to close the channel, and the records still unread were lost).
func TestLastRecordsBeforeExit(t *testing.T) {
	r := run(t, testConfig(1, "log-burst-then-exit"))
	pid := waitEvent[WorkerStarted](r, nil).PID
	// The test reads no line until the worker is gone: the agent's log
	// is blocked on the full channel, its reader behind the worker.
	if !poll(15*time.Second, func() bool { return syscall.Kill(pid, 0) == syscall.ESRCH }) {
		t.Fatalf("worker %d still there", pid)
	}
	r.waitLine(fmt.Sprintf(`worker 0 \(pid %d\) exited unexpectedly with code 3`, pid))
	next := 0
	for _, l := range r.seen {
		if strings.Contains(l, fmt.Sprintf("|%d|INFO|", pid)) && strings.HasSuffix(l, fmt.Sprintf("|record %d", next)) {
			next++
		}
	}
	if next != burstRecords {
		t.Fatalf("%d of %d records, in order, before the exit line", next, burstRecords)
	}
}
