package agent

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/nodeagent/node-agent/container/wire"
	"github.com/nodeagent/node-agent/internal/agent/config"
	"github.com/nodeagent/node-agent/internal/monitor"
	"github.com/nodeagent/node-agent/tars"
)

// monitoring reports whether the workers collect statistics: for the
// Prometheus endpoint, or for TARS StatF/PropertyF reports.
func monitoring(cfg *config.Config) bool {
	return cfg.MetricsAddress != "" || tarsReporting(cfg)
}

// tarsReporting reports whether stats and properties go to TARS: with
// --tars-monitor on and a config naming stat or property servants.
func tarsReporting(cfg *config.Config) bool {
	return cfg.TarsMonitor && cfg.TarsConfig != "" && (cfg.Stat != "" || cfg.Property != "")
}

// monitorVars are the workers' monitoring variables (container/wire).
func monitorVars(cfg *config.Config) [][2]string {
	if !monitoring(cfg) {
		return [][2]string{{wire.EnvMonitor, "0"}}
	}
	seppath := "0"
	if cfg.TarsMonitorHTTPSeppath {
		seppath = "1"
	}
	return [][2]string{
		{wire.EnvMonitor, "1"},
		{wire.EnvMonitorFlush, strconv.Itoa(wire.DefaultMonitorFlush)},
		{wire.EnvHTTPThreshold, strconv.Itoa(cfg.TarsMonitorHTTPThreshold)},
		{wire.EnvHTTPSeppath, seppath},
	}
}

// monitors are the exporters of the workers' statistics, each optional:
// the Prometheus endpoint (--metrics-address) and the TARS reporter.
type monitors struct {
	metrics  *monitor.Server
	reporter *monitor.TarsReporter
	cancel   context.CancelFunc
	reported chan struct{}
	sender   *monitor.ClientSender
}

// openMonitors starts the exporters cfg asks for. A metrics address that
// cannot be bound is an error (exit 2).
func (s *Supervisor) openMonitors() (*monitors, error) {
	m := &monitors{}
	cfg := s.cfg
	carried := s.adoptedStats()
	if tarsReporting(cfg) {
		m.sender = monitor.NewClientSender(tars.ClientOptions{Locator: cfg.Locator, Set: cfg.SetDivision, NodeName: cfg.NodeName})
		opts := monitor.TarsOptions{Stat: cfg.Stat, Property: cfg.Property, Interval: cfg.ReportInterval,
			ModuleName: cfg.ModuleName, LocalIP: cfg.LocalIP, Set: cfg.SetDivision, TarsVersion: s.version, Carried: carried}
		if host, port, err := net.SplitHostPort(cfg.HTTPAddress); err == nil {
			opts.SlaveIP = host
			opts.SlavePort, _ = strconv.Atoi(port)
		}
		m.reporter = monitor.NewTarsReporter(s.stats, m.sender, opts)
		ctx, cancel := context.WithCancel(context.Background())
		m.cancel, m.reported = cancel, make(chan struct{})
		go func() {
			defer close(m.reported)
			m.reporter.Run(ctx)
		}()
		s.log.info("reporting stats and properties to TARS every %v", m.reporter.Interval())
	}
	if cfg.MetricsAddress != "" {
		opts := monitor.MetricsOptions{Source: s.snapshot, Aggregator: s.stats, Reporter: m.reporter, Carried: carried}
		ln, err := s.adoptedListener(func(d *handoverDoc) *int { return d.Metrics })
		var srv *monitor.Server
		switch {
		case err == nil && ln != nil:
			srv = monitor.ServeMetrics(ln, opts)
		case err == nil:
			srv, err = monitor.ListenMetrics(cfg.MetricsAddress, opts)
		}
		if err != nil {
			m.close()
			return nil, fmt.Errorf("--metrics-address: %w", err)
		}
		m.metrics = srv
		s.log.info("serving metrics on http://%s/metrics", srv.Addr())
	}
	return m, nil
}

// close stops the exporters; the TARS reporter sends its last interval.
func (m *monitors) close() {
	if m.metrics != nil {
		m.metrics.Close(context.Background())
	}
	if m.cancel != nil {
		m.cancel()
		<-m.reported
	}
	if m.sender != nil {
		m.sender.Close()
	}
}

// workerStats adds a monitoring frame of the worker pid in slot to the
// statistics (the aggregator is safe for concurrent use). The process
// starter calls it from the worker's channel reader, off the run loop.
func (s *Supervisor) workerStats(slot, pid int, m wire.Message) {
	if err := s.stats.Handle(slot, pid, m); err != nil {
		s.log.warn("%v", err)
	}
}

// snapshot is the monitor.Source of the agent: answered by the run loop,
// so a stuck loop fails /healthz. It fails once Run returned.
func (s *Supervisor) snapshot(ctx context.Context) (monitor.Snapshot, error) {
	reply := make(chan Status, 1)
	if err := s.send(ctx, statusRequest{reply: reply}); err != nil {
		return monitor.Snapshot{}, err
	}
	select {
	case st := <-reply:
		return metricsOf(st, heartbeatInterval(s.cfg.KeepaliveTime) > 0), nil
	case <-s.quit:
		return monitor.Snapshot{}, ErrStopped
	case <-ctx.Done():
		return monitor.Snapshot{}, ctx.Err()
	}
}
