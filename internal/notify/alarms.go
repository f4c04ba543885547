package notify

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nodeagent/node-agent/tars"
)

// DefaultAlarmQueue is how many alarms may wait to be sent; more are
// dropped (and counted).
const DefaultAlarmQueue = 64

// AlarmPrefix starts the message of every alarm (as opposed to the events
// "restart" and "stop").
const AlarmPrefix = "[alarm] "

// AlarmConfig configures Alarms.
type AlarmConfig struct {
	// Notify is the NotifyObj proxy, the config's <server>notify; ""
	// means tars.ServantNotify. A bare servant name (the usual case) is
	// resolved through Locator.
	Notify string
	// Locator is the registry's proxy, the config's <client>locator.
	Locator string
	// App and Server name the service (see SplitName). Set is the set
	// division ("name.area.group") when the config enables sets, else "".
	// NodeName is the host's node name (<server>nodename or localip); it
	// is sent in the optional sNodeName field when not "".
	App, Server, Set, NodeName string
	// QueueSize bounds the alarms waiting to be sent (0: DefaultAlarmQueue).
	QueueSize int
	// Logger receives a record when sending starts failing (WARN), when
	// it works again (INFO), and when alarms had to be dropped (WARN,
	// "notify: alarm(s) dropped" with dropped and queue); nil discards.
	Logger *slog.Logger
}

// AlarmStats counts what happened to the reported alarms.
type AlarmStats struct {
	Sent    uint64 // delivered (the notify server answered)
	Failed  uint64 // sent but not delivered: unreachable, error or timeout
	Dropped uint64 // never sent: the queue was full, or Close's deadline passed
}

// Alarms sends events and alarms to tarsnotify (NotifyF.reportNotifyInfo)
// without ever blocking the reporter: Report queues, one goroutine sends,
// in order, one call at a time. A message that cannot be delivered is
// counted (Failed) and not retried; failures are logged once per outage.
type Alarms struct {
	client *tars.Client
	cfg    AlarmConfig
	ctx    context.Context // cancelled when Close gives up flushing
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.RWMutex // guards closed and sending on queue
	closed bool
	queue  chan tars.ReportInfo

	sent, failed, dropped atomic.Uint64
}

// NewAlarms validates cfg and starts the sender. Errors: a proxy that does
// not parse, or a Notify without endpoint while Locator is "".
func NewAlarms(cfg AlarmConfig) (*Alarms, error) {
	if cfg.Notify == "" {
		cfg.Notify = tars.ServantNotify
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultAlarmQueue
	}
	client, err := tars.NewClient(cfg.Notify, tars.ClientOptions{Locator: cfg.Locator, Set: cfg.Set, NodeName: cfg.NodeName})
	if err != nil {
		return nil, fmt.Errorf("notify: alarms to %s: %w", cfg.Notify, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &Alarms{client: client, cfg: cfg, ctx: ctx, cancel: cancel, done: make(chan struct{}),
		queue: make(chan tars.ReportInfo, cfg.QueueSize)}
	go a.send()
	return a, nil
}

// Report queues one message: "restart", "stop", or an alarm starting with
// AlarmPrefix; threadID is the pid of the worker concerned, or "" for the
// agent as a whole. Alarms are sent with level NOTIFYERROR, other messages
// with NOTIFYNORMAL, all with type REPORT. Report never blocks: when the
// queue is full (or after Close) the message is dropped and counted. Its
// signature is the agent's alarm hook's.
func (a *Alarms) Report(threadID, message string) {
	info := tars.ReportInfo{Type: tars.ReportTypeReport, App: a.cfg.App, Set: a.cfg.Set, Server: a.cfg.Server,
		Message: message, ThreadID: threadID, Level: tars.NotifyNormal, NodeName: a.cfg.NodeName}
	if strings.HasPrefix(message, strings.TrimSpace(AlarmPrefix)) {
		info.Level = tars.NotifyError
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		a.dropped.Add(1)
		return
	}
	select {
	case a.queue <- info:
	default:
		a.dropped.Add(1)
	}
}

// Stats returns the counters so far.
func (a *Alarms) Stats() AlarmStats {
	return AlarmStats{Sent: a.sent.Load(), Failed: a.failed.Load(), Dropped: a.dropped.Load()}
}

func (a *Alarms) send() {
	defer close(a.done)
	ep := episode{what: "reportNotifyInfo to " + a.cfg.Notify, log: a.cfg.Logger}
	var logged uint64
	for info := range a.queue {
		if a.ctx.Err() != nil {
			a.dropped.Add(1) // Close gave up: do not even try
			continue
		}
		err := a.client.Invoke(a.ctx, tars.FuncReportNotifyInfo, &tars.ReportNotifyInfoArgs{Info: info}, nil)
		if a.ctx.Err() != nil {
			a.dropped.Add(1)
			continue
		}
		if err != nil {
			a.failed.Add(1)
		} else {
			a.sent.Add(1)
		}
		ep.result(err)
		if d := a.dropped.Load(); d > logged {
			logRecord(a.cfg.Logger, slog.LevelWarn, "notify: alarm(s) dropped: the queue was full", "dropped", d-logged, "queue", a.cfg.QueueSize)
			logged = d
		}
	}
}

// Close stops accepting messages, sends those already queued until ctx is
// done, then abandons the rest (counted as dropped), closes the connection
// and waits for the sender. It returns an error wrapping ctx's when
// messages were abandoned. Call it after the last Report ("stop").
func (a *Alarms) Close(ctx context.Context) error {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.queue)
	}
	a.mu.Unlock()
	before := a.dropped.Load()
	var err error
	select {
	case <-a.done:
	case <-ctx.Done():
		a.cancel()
		<-a.done
		if n := a.dropped.Load() - before; n > 0 {
			err = fmt.Errorf("notify: %d alarm(s) not sent before the deadline: %w", n, ctx.Err())
		}
	}
	a.cancel()
	a.client.Close()
	return err
}
