package main

import (
	"sync"

	"github.com/nodeagent/node-agent/container"
	"github.com/nodeagent/node-agent/testdata/gateway/sms"
)

// propertyPolicies are the container property policies of each business
// metric: counters are summed per report interval, the sampled queue
// gauges keep their maximum, the provider latency its distribution.
var propertyPolicies = map[string][]container.Policy{
	sms.MetricQueueDepth:      {container.Max},
	sms.MetricOldestQueued:    {container.Max},
	sms.MetricSent:            {container.Sum},
	sms.MetricFailed:          {container.Sum},
	sms.MetricRetried:         {container.Sum},
	sms.MetricTakeovers:       {container.Sum},
	sms.MetricAccepted:        {container.Sum},
	sms.MetricCancelled:       {container.Sum},
	sms.MetricProviderLatency: {container.Avg, container.Max, container.Distr(5, 10, 20, 50, 100, 200, 500, 1000, 5000)},
}

// properties reports sms.Metrics as the worker's container properties, so
// they reach the agent's /metrics and TARS PropertyF.
type properties struct {
	w     *container.Worker
	mu    sync.Mutex
	props map[string]*container.Property
}

func newProperties(w *container.Worker) *properties {
	return &properties{w: w, props: map[string]*container.Property{}}
}

func (p *properties) get(name string) *container.Property {
	p.mu.Lock()
	defer p.mu.Unlock()
	if prop, ok := p.props[name]; ok {
		return prop
	}
	policies, ok := propertyPolicies[name]
	if !ok {
		policies = []container.Policy{container.Sum}
	}
	prop, err := p.w.Property(name, policies...)
	if err != nil {
		p.w.Logger().Warn("gateway: property "+name, "err", err)
	}
	p.props[name] = prop // nil after an error: reported nowhere, asked for once
	return prop
}

// Add implements sms.Metrics.
func (p *properties) Add(name string, n float64) { p.Observe(name, n) }

// Observe implements sms.Metrics.
func (p *properties) Observe(name string, v float64) {
	if prop := p.get(name); prop != nil {
		prop.Report(v)
	}
}
