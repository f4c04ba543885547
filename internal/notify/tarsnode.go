package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nodeagent/node-agent/tars"
)

// DefaultKeepAlivePeriod is how often the agent tells tarsnode it is alive
// (node-agent's TARS_HEART_BEAT_INTERVAL; TarsCpp and TarsGo use 10 s too).
const DefaultKeepAlivePeriod = 10 * time.Second

// NodeConfig configures a NodeReporter.
type NodeConfig struct {
	// Node is tarsnode's proxy, --tars-node or the config's <server>node,
	// e.g. "tars.tarsnode.ServerObj@tcp -h 127.0.0.1 -p 19386 -t 60000".
	Node string
	// Locator resolves Node when it names no endpoint (rare); "" otherwise.
	Locator string
	// App and Server name the service (see SplitName); Pid is the agent's
	// pid, the one tarsnode watches; Version is the agent's version.
	App, Server string
	Pid         int
	Version     string
	// Period is the keepAlive period (0: DefaultKeepAlivePeriod). Tests
	// shorten it.
	Period time.Duration
	// Logger receives a record when reporting starts failing (WARN) and
	// when it works again (INFO), once per outage, not once per call; nil
	// discards.
	Logger *slog.Logger
}

// NodeReporter reports to tarsnode from its own goroutine (SPEC §12):
// reportVersion(app, server, version) once, and keepAlive({app, server,
// pid, adapter ""}) at start and then every period. A call that fails is
// not retried before the next period; reportVersion is retried with each
// keepAlive until it has succeeded once. The connection is redialled with
// backoff (never slower than one attempt per period). Nothing it does
// blocks its caller.
type NodeReporter struct {
	client *tars.Client
	cfg    NodeConfig
	cancel context.CancelFunc
	done   chan struct{}
}

// StartNodeReporter validates cfg and starts reporting. Errors: an empty
// or unparsable proxy, an empty App or Server.
func StartNodeReporter(cfg NodeConfig) (*NodeReporter, error) {
	if cfg.Node == "" {
		return nil, errors.New("notify: no tarsnode proxy (--tars-node)")
	}
	if cfg.App == "" || cfg.Server == "" {
		return nil, fmt.Errorf("notify: tarsnode reports need an application and a server name, got %q and %q", cfg.App, cfg.Server)
	}
	if cfg.Period <= 0 {
		cfg.Period = DefaultKeepAlivePeriod
	}
	client, err := tars.NewClient(cfg.Node, tars.ClientOptions{
		Locator:    cfg.Locator,
		Timeout:    min(tars.DefaultCallTimeout, cfg.Period),
		MinBackoff: min(tars.DefaultMinBackoff, cfg.Period),
		MaxBackoff: cfg.Period,
	})
	if err != nil {
		return nil, fmt.Errorf("notify: tarsnode proxy: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &NodeReporter{client: client, cfg: cfg, cancel: cancel, done: make(chan struct{})}
	go r.run(ctx)
	return r, nil
}

func (r *NodeReporter) run(ctx context.Context) {
	defer close(r.done)
	version := episode{what: "reportVersion to tarsnode " + r.cfg.Node, log: r.cfg.Logger}
	alive := episode{what: "keepAlive to tarsnode " + r.cfg.Node, log: r.cfg.Logger}
	versionSent := false
	tick := time.NewTicker(r.cfg.Period)
	defer tick.Stop()
	for {
		if !versionSent {
			err := r.reportVersion(ctx)
			if ctx.Err() != nil {
				return
			}
			version.result(err)
			versionSent = err == nil
		}
		err := r.keepAlive(ctx)
		if ctx.Err() != nil {
			return
		}
		alive.result(err)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (r *NodeReporter) reportVersion(ctx context.Context) error {
	var res tars.IntResult
	args := &tars.ReportVersionArgs{App: r.cfg.App, ServerName: r.cfg.Server, Version: r.cfg.Version}
	if err := r.client.Invoke(ctx, tars.FuncReportVersion, args, &res); err != nil {
		return err
	}
	return known(res.Ret, r.cfg)
}

func (r *NodeReporter) keepAlive(ctx context.Context) error {
	var res tars.IntResult
	info := tars.ServerInfo{Application: r.cfg.App, ServerName: r.cfg.Server, Pid: int32(r.cfg.Pid)}
	if err := r.client.Invoke(ctx, tars.FuncKeepAlive, &tars.KeepAliveArgs{ServerInfo: info}, &res); err != nil {
		return err
	}
	return known(res.Ret, r.cfg)
}

// known turns tarsnode's -1 ("not a server I manage") into an error.
func known(ret int32, cfg NodeConfig) error {
	if ret != 0 {
		return fmt.Errorf("tarsnode answered %d: it does not manage %s.%s", ret, cfg.App, cfg.Server)
	}
	return nil
}

// Close stops reporting (a call in flight is abandoned) and waits for the
// reporter's goroutines. It is idempotent.
func (r *NodeReporter) Close() {
	r.cancel()
	<-r.done
	r.client.Close()
}
