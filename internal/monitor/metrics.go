package monitor

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultCheckTimeout bounds how long a scrape or a health check waits for
// the agent's Source.
const DefaultCheckTimeout = 2 * time.Second

// MetricsOptions configure the Prometheus endpoints.
type MetricsOptions struct {
	// Source answers the worker table; required.
	Source Source
	// Aggregator holds the workers' statistics; required.
	Aggregator *Aggregator
	// Reporter, when the agent reports to TARS, adds its call counts.
	Reporter *TarsReporter
	// CheckTimeout bounds the wait for Source; 0 means DefaultCheckTimeout.
	CheckTimeout time.Duration
	// Now is the clock of heartbeat ages; nil means time.Now.
	Now func() time.Time
	// Carried, from an agent's previous program (upgrade in place), adds
	// the Go runtime counters that program reached to this one's, so they
	// go on from there. Restore the Aggregator with the same.
	Carried *Carried
}

// NewHandler returns the handler of the agent's metrics address:
//
//	/metrics  Prometheus metrics of the agent and its workers
//	/healthz  200 when the agent's run loop answers within CheckTimeout, else 503
//	/readyz   200 when every worker is ready and the agent is not stopping, else 503
func NewHandler(opts MetricsOptions) http.Handler {
	h, _ := newHandler(opts)
	return h
}

// newHandler is NewHandler, with the gatherer of /metrics.
func newHandler(opts MetricsOptions) (http.Handler, *carryGatherer) {
	if opts.CheckTimeout <= 0 {
		opts.CheckTimeout = DefaultCheckTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cs := &collectorSet{timeout: opts.CheckTimeout, list: []collector{
		workersCollector(opts.Source, opts.Aggregator, opts.Now),
		statsCollector(opts.Aggregator),
	}}
	if opts.Reporter != nil {
		cs.list = append(cs.list, opts.Reporter.collector())
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(cs, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// The Go runtime's own registry: carried over by an upgrade in place,
	// and gathered for it without asking the agent's (frozen) run loop.
	goReg := prometheus.NewRegistry()
	goReg.MustRegister(collectors.NewGoCollector())
	g := newCarryGatherer(prometheus.Gatherers{reg, goReg}, goReg, opts.Carried)

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), opts.CheckTimeout)
		defer cancel()
		if _, err := opts.Source(ctx); err != nil {
			http.Error(w, fmt.Sprintf("agent loop not answering: %v", err), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), opts.CheckTimeout)
		defer cancel()
		snap, err := opts.Source(ctx)
		if err != nil {
			http.Error(w, fmt.Sprintf("not ready: agent loop not answering: %v", err), http.StatusServiceUnavailable)
			return
		}
		if ok, why := snap.ready(); !ok {
			http.Error(w, "not ready: "+why, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "ready: %d workers\n", len(snap.Workers))
	})
	return mux, g
}
