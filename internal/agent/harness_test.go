package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/internal/agent/config"
	"github.com/nodeagent/node-agent/internal/logs"
)

// lineSink is a log destination whose lines a test can wait for.
type lineSink struct {
	sink  *logs.Sink
	lines chan string
}

type chanWriter chan string

func (c chanWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimSuffix(string(p), "\n"), "\n") {
		c <- l
	}
	return len(p), nil
}

func newLineSink() *lineSink {
	ch := make(chan string, 4096)
	return &lineSink{sink: logs.To(logs.NewWriter(chanWriter(ch), logs.Options{})), lines: ch}
}

// testConfig is a config running the test binary as helper program name.
func testConfig(n int, name string) *config.Config {
	exe, _ := os.Executable()
	return &config.Config{
		Entry:            config.Entry{Path: exe, Dir: filepath.Dir(exe)},
		Name:             "agent.test",
		Instances:        n,
		Env:              map[string]string{helperEnv: name},
		GracefulShutdown: 5 * time.Second,
		ExceptionMax:     10,
		ExceptionTime:    10 * time.Second,
		KeepaliveTime:    config.DefaultKeepaliveTime,
		AppLogLevel:      config.LevelDebug,
	}
}

// running is a supervisor under test.
type running struct {
	t       *testing.T
	sup     *Supervisor
	signals chan os.Signal
	code    chan int
	lines   chan string
	seen    []string
	events  chan Event
	seenEv  []Event
}

// run starts a supervisor for cfg with real processes. It is stopped and
// waited for when the test ends.
func run(t *testing.T, cfg *config.Config) *running {
	t.Helper()
	return runWith(t, cfg, nil)
}

// runWith is run with adjust, when not nil, called before Run.
func runWith(t *testing.T, cfg *config.Config, adjust func(*Supervisor)) *running {
	t.Helper()
	sink := newLineSink()
	s, err := New(cfg, &Output{App: sink.sink, Agent: sink.sink}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if adjust != nil {
		adjust(s)
	}
	r := &running{t: t, sup: s, signals: make(chan os.Signal, 2), code: make(chan int, 1), lines: sink.lines, events: subscribe(s)}
	go func() { r.code <- s.Run(context.Background(), r.signals) }()
	t.Cleanup(func() {
		if t.Failed() {
			r.logTail(80)
		}
		select {
		case code := <-r.code:
			r.code <- code
			return
		default:
		}
		// Keep reading its log so no writer blocks while it stops.
		stop := make(chan struct{})
		go func() {
			for {
				select {
				case <-r.lines:
				case <-stop:
					return
				}
			}
		}()
		defer close(stop)
		r.signals <- syscall.SIGTERM
		r.signals <- syscall.SIGTERM
		select {
		case <-r.code:
		case <-time.After(10 * time.Second):
			t.Error("supervisor did not stop")
		}
	})
	return r
}

// drainLines adds the lines the supervisor wrote and the test did not
// read yet to r.seen, without waiting for more.
func (r *running) drainLines() {
	for {
		select {
		case l := <-r.lines:
			r.seen = append(r.seen, l)
		default:
			return
		}
	}
}

// logTail logs the last n lines the supervisor wrote so far, for the
// diagnosis of a failed test: what the test read and what is still queued.
func (r *running) logTail(n int) {
	r.drainLines()
	tail := r.seen[max(0, len(r.seen)-n):]
	r.t.Logf("the agent's last %d lines:\n%s", len(tail), strings.Join(tail, "\n"))
}

// waitLine waits for a log line matching pattern and returns its submatches.
func (r *running) waitLine(pattern string) []string {
	r.t.Helper()
	re := regexp.MustCompile(pattern)
	deadline := time.After(15 * time.Second)
	for {
		select {
		case l := <-r.lines:
			r.seen = append(r.seen, l)
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-deadline:
			r.t.Fatalf("no log line matching %q; saw:\n%s", pattern, strings.Join(r.seen, "\n"))
			return nil
		}
	}
}

// subscribe returns a channel of s's events. The subscriber never
// blocks the run loop: past 4096 unread events it drops them, and the
// channel then yields nil, which fails waitEvent.
func subscribe(s *Supervisor) chan Event {
	ch := make(chan Event, 4096)
	s.Subscribe(func(ev Event) {
		select {
		case ch <- ev:
		default:
			select {
			case <-ch: // make room for the nil that says events were lost
			default:
			}
			ch <- nil
		}
	})
	return ch
}

// waitEvent waits for an event of type E for which match (nil: any)
// holds, and returns it.
func waitEvent[E Event](r *running, match func(E) bool) E {
	r.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev := <-r.events:
			if ev == nil {
				r.t.Fatal("events were lost: the test let 4096 pile up unread")
			}
			r.seenEv = append(r.seenEv, ev)
			if e, ok := ev.(E); ok && (match == nil || match(e)) {
				return e
			}
		case <-deadline:
			var zero E
			var seen []string
			for _, ev := range r.seenEv {
				seen = append(seen, fmt.Sprintf("%T %+v", ev, ev))
			}
			r.t.Fatalf("no %T event matching; saw:\n%s", zero, strings.Join(seen, "\n"))
			return zero
		}
	}
}

// wait returns the supervisor's exit code.
func (r *running) wait(within time.Duration) int {
	r.t.Helper()
	select {
	case code := <-r.code:
		r.code <- code
		return code
	case <-time.After(within):
		r.t.Fatalf("supervisor still running after %v", within)
		return -1
	}
}

// gone reports whether pid no longer runs (absent or a zombie).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i > 0 && i+2 < len(s) {
		return s[i+2] == 'Z'
	}
	return false
}

// poll checks cond every few milliseconds until it holds or within has
// passed, and reports whether it held. It is for state that nothing signals
// (/proc, files written by other processes, counters of a load); everything
// else waits on a channel.
func poll(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return cond()
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// waitGone polls until pid is gone or the deadline passes.
func waitGone(pid int, within time.Duration) bool {
	return poll(within, func() bool { return gone(pid) })
}
