package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/nodeagent/node-agent/internal/control"
	"github.com/nodeagent/node-agent/internal/logs"
)

const (
	// tapBuffer is how many batches of log records a slow `logs -f`
	// client may lag behind before batches are dropped for it (never for
	// the log files or stdout).
	tapBuffer = 256
	// tapHistory is how many past batches the tap keeps for `logs -n` and
	// monit when the agent logs to stdout.
	tapHistory = 200
)

// ServeControl serves the agent's admin commands on the local control
// socket ln (SPEC §15): commands go to Notify, shutdown to Shutdown, and
// log requests get the records the agent wrote (the last ones, then live
// ones). Call it before Run. The returned stop closes ln (removing the
// socket), ends the requests in progress and waits for them.
func (s *Supervisor) ServeControl(ln *control.Listener) (stop func()) {
	tap := &logTap{subs: map[*tapClient]struct{}{}}
	// Each sink keeps its level; both may share a destination (stdout).
	s.out.App = tap.wrap(s.out.App, control.SourceApp)
	s.out.Agent = tap.wrap(s.out.Agent, control.SourceAgent)
	s.log.redirect(s.out.Agent)
	if ln.Stale != 0 {
		who := "an agent that did not exit cleanly"
		if ln.Stale > 0 {
			who = fmt.Sprintf("pid %d, which did not exit cleanly", ln.Stale)
		}
		s.log.warn("control socket %s: took over the stale one of %s", ln.Path(), who)
	}
	s.up.control = ln
	srv := control.Serve(ln, controlHandler{s: s, tap: tap})
	s.up.controlServer = srv
	return func() {
		ln.Close()
		srv.Close()
	}
}

// controlHandler answers the control socket for a Supervisor.
type controlHandler struct {
	s   *Supervisor
	tap *logTap
}

// Command runs an admin command; agent.reload is Reload (a Go source entry
// is built first, as for SIGHUP). An admin error is an error reply.
func (h controlHandler) Command(ctx context.Context, command string) (string, error) {
	if strings.TrimSpace(command) == CmdReload {
		return h.s.Reload(ctx)
	}
	if args := strings.Fields(command); len(args) > 0 && args[0] == CmdUpgrade {
		if len(args) > 2 {
			return "", fmt.Errorf("%s takes at most one PATH, got %q", CmdUpgrade, command)
		}
		path := ""
		if len(args) == 2 {
			path = args[1]
		}
		return h.s.Upgrade(ctx, path)
	}
	return h.s.Notify(ctx, command)
}

// Status answers the agent's status as JSON, as agent.status does.
func (h controlHandler) Status(ctx context.Context) (string, error) {
	st, err := h.s.Status(ctx)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(st)
	return string(b), err
}

// Shutdown starts the graceful shutdown and says so.
func (h controlHandler) Shutdown() string {
	h.s.Shutdown()
	return fmt.Sprintf("agent %s (pid %d) is stopping: its workers get --graceful-shutdown %v to exit", h.s.cfg.Name, os.Getpid(), h.s.cfg.GracefulShutdown)
}

// Info names the agent and its log files.
func (h controlHandler) Info() control.Info {
	app, agent := LogFiles(h.s.cfg)
	return control.Info{Name: h.s.cfg.Name, PID: os.Getpid(), AppLog: app, AgentLog: agent}
}

// Logs sends the last req.Lines batches of records of req.Source, then,
// with req.Follow, the new ones until ctx ends.
func (h controlHandler) Logs(ctx context.Context, req control.Request, send func(string) error) error {
	c := &tapClient{source: req.Source, ch: make(chan string, tapBuffer)}
	if c.source == "" {
		c.source = control.SourceApp
	}
	past := lastLines(strings.Join(h.tap.subscribe(c, req.Lines, req.Follow), ""), req.Lines)
	defer h.tap.unsubscribe(c)
	if past != "" {
		if err := send(past); err != nil {
			return err
		}
	}
	if !req.Follow {
		return nil
	}
	for {
		select {
		case text := <-c.ch:
			if err := send(text); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// lastLines returns the last n lines of text ("" for n <= 0).
func lastLines(text string, n int) string {
	if n <= 0 {
		return ""
	}
	lines := strings.SplitAfter(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := strings.Join(lines, "")
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	return out
}

// logTap copies the records written to the agent's logs to the clients
// of `logs` and `monit`, and keeps the last ones. A slow client loses
// batches, never the logs.
type logTap struct {
	mu      sync.Mutex
	subs    map[*tapClient]struct{}
	history []tapBatch // ring of the last tapHistory batches
	next    int        // where the next batch goes in history
}

type tapBatch struct{ source, text string }

type tapClient struct {
	source string
	ch     chan string
}

func (c *tapClient) wants(source string) bool {
	return c.source == control.SourceAll || c.source == source
}

// wrap returns a sink writing to sink's destination and to the tap as
// source, at sink's level.
func (t *logTap) wrap(sink *logs.Sink, source string) *logs.Sink {
	tapped := logs.To(tapDestination{Destination: sink.Destination(), tap: t, source: source})
	tapped.SetLevel(sink.Level())
	return tapped
}

// subscribe returns the last lines batches c wants and, with follow,
// registers c for the next ones.
func (t *logTap) subscribe(c *tapClient, lines int, follow bool) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var past []string
	for i := range len(t.history) {
		b := t.history[(t.next+i)%len(t.history)]
		if c.wants(b.source) {
			past = append(past, b.text)
		}
	}
	past = past[max(0, len(past)-lines):]
	if follow {
		t.subs[c] = struct{}{}
	}
	return past
}

func (t *logTap) unsubscribe(c *tapClient) {
	t.mu.Lock()
	delete(t.subs, c)
	t.mu.Unlock()
}

func (t *logTap) publish(source string, b []byte) {
	text := string(b)
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.history) < tapHistory {
		t.history = append(t.history, tapBatch{source, text})
	} else {
		t.history[t.next] = tapBatch{source, text}
		t.next = (t.next + 1) % tapHistory
	}
	for c := range t.subs {
		if !c.wants(source) {
			continue
		}
		select {
		case c.ch <- text:
		default: // this client is too slow: it misses the batch
		}
	}
}

// tapDestination writes to its Destination, then to the tap.
type tapDestination struct {
	logs.Destination
	tap    *logTap
	source string
}

func (d tapDestination) WriteRecords(b []byte, n int) {
	d.Destination.WriteRecords(b, n)
	d.tap.publish(d.source, b)
}
