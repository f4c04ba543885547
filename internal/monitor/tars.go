package monitor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nodeagent/node-agent/tars"
	"github.com/prometheus/client_golang/prometheus"
)

// Sender makes TARS calls for the TarsReporter; the agent adapts its TARS
// client to it.
type Sender interface {
	// Invoke calls fn on obj, a proxy string as the config writes it:
	// "tars.tarsstat.StatObj" (resolved through the locator) or
	// "tars.tarsstat.StatObj@tcp -h H -p P" (direct). args is encoded as
	// the request's argument buffer. A one-way call returns once the
	// request is written; ctx bounds the whole call.
	Invoke(ctx context.Context, obj, fn string, args tars.Struct, oneway bool) error
}

// Defaults and limits of TarsOptions.
const (
	// MinReportInterval is the shortest report interval (TarsCpp and
	// @tars/monitor clamp report-interval to it); it is also the default.
	MinReportInterval = 10 * time.Second
	// DefaultMaxCallSize bounds the argument buffer of one call: TarsCpp's
	// max-report-size, sized so a report fits one UDP datagram.
	DefaultMaxCallSize = 1400
	// DefaultReportTimeout bounds each call.
	DefaultReportTimeout = 5 * time.Second
	// DefaultModuleName and DefaultLocalIP stand in for an absent
	// <client>modulename and <server>localip, as @tars/monitor does.
	DefaultModuleName = "NO_MODULE_NAME"
	DefaultLocalIP    = "127.0.0.1"
	// StatMasterName is the caller's name in HTTP stat rows.
	StatMasterName = "http_client"
	// PropertyVersion is the iPropertyVer TarsGo and @tars/monitor send.
	PropertyVersion = 2
)

// TarsOptions configure a TarsReporter, from the TARS config (SPEC §12).
type TarsOptions struct {
	// Stat and Property are the StatObj and PropertyObj proxies
	// (<client>stat, <client>property); "" reports nothing of that kind.
	Stat, Property string
	// Interval is <client>report-interval; shorter than MinReportInterval
	// (or 0) means MinReportInterval.
	Interval time.Duration
	// ModuleName is <client>modulename ("App.Server"): the slaveName of
	// stat rows and the moduleName and prefix of usage properties.
	ModuleName string
	// LocalIP is <server>localip, the ip of property rows.
	LocalIP string
	// Set is the set division ("name.area.group") when the config enables
	// sets, else "". As TarsGo reports it, stat rows then have the
	// slaveName "App.Server.<name><area><group>" and the slaveSet fields,
	// and property rows the moduleName "App.Server.<name><area><group>"
	// and the set fields.
	Set string
	// TarsVersion is sent as the tarsVersion of stat rows (the agent's
	// version: it is the framework end of the service).
	TarsVersion string
	// SlaveIP and SlavePort are the service's http address, the slaveIp
	// and slavePort of stat rows.
	SlaveIP   string
	SlavePort int
	// MaxCallSize bounds the argument buffer of a call; a report larger
	// than it is split into several calls. 0 means DefaultMaxCallSize.
	MaxCallSize int
	// Timeout bounds each call; 0 means DefaultReportTimeout.
	Timeout time.Duration
	// Carried, from an agent's previous program (upgrade in place), gives
	// the reporter its call counts and the opening of the interval in
	// progress: the first report is due at its end, not an interval after
	// the new program started. Restore the Aggregator with the same.
	Carried *Carried
	// Now is the reporter's clock; nil means time.Now.
	Now func() time.Time
}

func (o TarsOptions) withDefaults() TarsOptions {
	o.Interval = max(o.Interval, MinReportInterval)
	if o.ModuleName == "" {
		o.ModuleName = DefaultModuleName
	}
	if o.LocalIP == "" {
		o.LocalIP = DefaultLocalIP
	}
	if o.MaxCallSize <= 0 {
		o.MaxCallSize = DefaultMaxCallSize
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultReportTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// TarsReporter sends the Aggregator's report intervals to TARS: HTTP stats
// with StatF.reportMicMsg (server side) and usage and custom properties
// with PropertyF.reportPropMsg, one-way, split so that each call stays
// under MaxCallSize.
type TarsReporter struct {
	agg  *Aggregator
	send Sender
	opts TarsOptions

	// reporting is held by Report from taking an interval to its last
	// call, and by Hold.
	reporting sync.Mutex

	mu     sync.Mutex
	calls  map[[2]string]uint64 // {servant kind, result} → calls
	opened time.Time            // when the interval in progress began
}

// NewTarsReporter returns a reporter of agg's intervals through send.
func NewTarsReporter(agg *Aggregator, send Sender, opts TarsOptions) *TarsReporter {
	opts = opts.withDefaults()
	r := &TarsReporter{agg: agg, send: send, opts: opts, calls: map[[2]string]uint64{}, opened: opts.Now()}
	r.restore(opts.Carried)
	return r
}

// Hold waits for a report in progress to be sent and keeps the next one
// from starting until release: an agent upgrading in place holds its
// reporter from the freeze to the exec, so that an interval is either
// sent by this program or carried (Carry) to the next, never both.
// release is for an upgrade that did not happen.
func (r *TarsReporter) Hold() (release func()) {
	r.reporting.Lock()
	return r.reporting.Unlock
}

// Interval returns the report interval in effect.
func (r *TarsReporter) Interval() time.Duration { return r.opts.Interval }

// Run reports at the end of each interval until ctx ends, then reports
// the last partial interval (bounded by the call timeout) and returns.
// The first interval ends Interval after the reporter was made, or after
// the carried interval opened.
func (r *TarsReporter) Run(ctx context.Context) {
	t := time.NewTimer(r.nextReport())
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.Report(ctx)
			t.Reset(r.nextReport())
		case <-ctx.Done():
			r.Report(context.WithoutCancel(ctx))
			return
		}
	}
}

// nextReport is the time left until the interval in progress ends.
func (r *TarsReporter) nextReport() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return max(r.opened.Add(r.opts.Interval).Sub(r.opts.Now()), 0)
}

// Report sends what happened since the previous report now. Calls that
// fail are counted (node_agent_tars_reports_total) and their rows lost;
// the error joins their errors.
func (r *TarsReporter) Report(ctx context.Context) error {
	r.reporting.Lock()
	defer r.reporting.Unlock()
	r.mu.Lock()
	r.opened = r.opts.Now()
	r.mu.Unlock()
	iv := r.agg.takeInterval()
	var errs []error
	if r.opts.Stat != "" {
		for _, part := range split(statRows(&iv, r.opts), r.opts.MaxCallSize) {
			args := &tars.ReportMicMsgArgs{Msg: part, FromClient: false}
			errs = append(errs, r.call(ctx, "stat", r.opts.Stat, tars.FuncReportMicMsg, args))
		}
	}
	if r.opts.Property != "" {
		for _, part := range split(propRows(&iv, r.opts), r.opts.MaxCallSize) {
			args := &tars.ReportPropMsgArgs{StatMsg: part}
			errs = append(errs, r.call(ctx, "property", r.opts.Property, tars.FuncReportPropMsg, args))
		}
	}
	return errors.Join(errs...)
}

func (r *TarsReporter) call(ctx context.Context, kind, obj, fn string, args tars.Struct) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	err := r.send.Invoke(ctx, obj, fn, args, true)
	result := "ok"
	if err != nil {
		result = "error"
		err = fmt.Errorf("monitor: %s to %s: %w", fn, obj, err)
	}
	r.mu.Lock()
	r.calls[[2]string{kind, result}]++
	r.mu.Unlock()
	return err
}

var tarsReportsDesc = prometheus.NewDesc(namespace+"_tars_reports_total",
	"Calls of StatF.reportMicMsg (servant stat) and PropertyF.reportPropMsg (servant property), by result.",
	[]string{"servant", "result"}, nil)

// collector exports the reporter's call counts.
func (r *TarsReporter) collector() collector {
	return collector{
		name:  "tars",
		descs: []*prometheus.Desc{tarsReportsDesc},
		update: func(_ context.Context, ch chan<- prometheus.Metric) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			for _, kind := range []string{"stat", "property"} {
				for _, result := range []string{"ok", "error"} {
					ch <- prometheus.MustNewConstMetric(tarsReportsDesc, prometheus.CounterValue,
						float64(r.calls[[2]string{kind, result}]), kind, result)
				}
			}
			return nil
		},
	}
}
