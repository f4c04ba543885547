package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nodeagent/node-agent/container"
	"github.com/nodeagent/node-agent/testdata/gateway/provider"
	"github.com/nodeagent/node-agent/testdata/gateway/sms"
)

// providers is the gateway's provider configuration when a config file is
// given (-config / SMS_CONFIG): the router over the configured providers
// and what it needs to turn a stored message back into a provider message.
type providers struct {
	cfg       provider.Config
	router    *provider.Router
	receipts  map[string]provider.ReceiptEndpoint
	templates map[string]templateMatcher
	props     atomic.Pointer[providerProperties] // set once the worker exists

	// Set by attach, before the gateway serves.
	store   atomic.Pointer[sms.ReceiptStore]
	receipt atomic.Pointer[provider.ReceiptHandler]
	log     atomic.Pointer[slog.Logger]
}

// attach gives the providers the gateway's store: Send records which
// provider accepted each message, and the receipt endpoint applies the
// providers' receipts to it.
func (p *providers) attach(g *sms.Gateway, log *slog.Logger) error {
	rs, ok := g.ReceiptStore()
	if !ok {
		return errors.New("the message store takes no delivery receipts")
	}
	p.log.Store(log)
	p.store.Store(&rs)
	p.receipt.Store(provider.NewReceiptHandler(p.receipts, rs, log))
	return nil
}

// ServeHTTP serves provider.ReceiptPattern once attach has run.
func (p *providers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := p.receipt.Load()
	if h == nil {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// adminStats is the reply of the sms.providers admin command.
func (p *providers) adminStats() any {
	reply := struct {
		Providers []provider.ProviderStats `json:"providers"`
		Receipts  *provider.ReceiptStats   `json:"receipts,omitempty"`
	}{Providers: p.router.Stats()}
	if h := p.receipt.Load(); h != nil {
		st := h.Stats()
		reply.Receipts = &st
	}
	return reply
}

// loadProviders reads the config file at path and builds its providers,
// loading their credentials through getenv. Every problem is one line
// naming the file, line and key.
func loadProviders(path string, getenv func(string) string) (*providers, error) {
	cfg, err := provider.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	builtins := sms.BuiltinTemplates()
	for name, t := range cfg.Templates {
		b, ok := builtins[name]
		if !ok {
			return nil, &provider.ParseError{File: path, Line: t.Line, Key: "[template." + name + "]", Msg: "the gateway has no such template"}
		}
		if want := b.Params(); len(t.Params) > 0 && strings.Join(sorted(t.Params), ",") != strings.Join(sorted(want), ",") {
			return nil, &provider.ParseError{File: path, Line: t.Line, Key: "template." + name + ".params", Msg: fmt.Sprintf("want the template's parameters %q in the provider's order", want)}
		}
	}
	p := &providers{cfg: cfg, templates: map[string]templateMatcher{}}
	p.router, p.receipts, err = provider.Build(cfg, provider.BuildOptions{Getenv: getenv, Observe: p.observe})
	if err != nil {
		return nil, err
	}
	for name, t := range builtins {
		p.templates[name] = newTemplateMatcher(t)
	}
	return p, nil
}

// observe reports a provider call to the worker's properties, once
// reportTo has given them.
func (p *providers) observe(c provider.Call) {
	if pp := p.props.Load(); pp != nil {
		pp.observe(c)
	}
}

// reportTo creates the per-provider properties of worker w.
func (p *providers) reportTo(w *container.Worker) error {
	pp, err := newProviderProperties(w, p.cfg.ProviderNames())
	if err != nil {
		return err
	}
	p.props.Store(pp)
	return nil
}

// smsConfig applies the file's retry policy and rate limit to the
// gateway's own configuration.
func (p *providers) smsConfig(c sms.Config) sms.Config {
	c.Retry = p.cfg.Retry // jitter included: the file's (or the default) is exact
	c.RateLimit = p.cfg.RateLimit.PerPhone
	c.RateWindow = p.cfg.RateLimit.Window
	return c
}

// Send implements sms.Provider: one delivery attempt through the router.
// A Permanent provider error fails the message at once.
func (p *providers) Send(ctx context.Context, m sms.Message) error {
	pm := provider.Message{ID: m.ID, Phone: m.Phone, Template: m.Template, Content: m.Text}
	if m.Template != "" {
		params, ok := p.templates[m.Template].params(m.Text)
		if !ok {
			return sms.Permanent(fmt.Errorf("provider: message %s does not match template %s", m.ID, m.Template))
		}
		pm = p.cfg.Message(m.ID, m.Phone, m.Template, params, m.Text)
	}
	res, err := p.router.Send(ctx, pm)
	if err != nil && !provider.IsRetryable(err) {
		return sms.Permanent(err)
	}
	if err != nil {
		return err
	}
	if rs := p.store.Load(); rs != nil {
		// The provider has the message: a failure to note its id costs the
		// receipt (counted unknown), never a second send.
		if err := (*rs).RecordProvider(ctx, m.ID, res.Provider, res.ProviderID); err != nil {
			p.log.Load().Warn("gateway: cannot record the provider id; its receipt will be unknown", "id", m.ID, "provider", res.Provider, "err", err)
		}
	}
	return nil
}

// templateMatcher recovers a template's parameters from the text it
// rendered. The stored record keeps the rendered text only; any parameters
// that render to the same text make the same SMS at the provider, whose
// template has the same wording.
type templateMatcher struct {
	t     sms.Template
	re    *regexp.Regexp
	names []string // placeholder of each capture group, in order of appearance
}

var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

func newTemplateMatcher(t sms.Template) templateMatcher {
	var pattern strings.Builder
	var names []string
	pattern.WriteString(`^`)
	last := 0
	for _, loc := range placeholder.FindAllStringIndex(t.Text, -1) {
		pattern.WriteString(regexp.QuoteMeta(t.Text[last:loc[0]]))
		pattern.WriteString(`(.+?)`)
		names = append(names, t.Text[loc[0]+1:loc[1]-1])
		last = loc[1]
	}
	pattern.WriteString(regexp.QuoteMeta(t.Text[last:]) + `$`)
	return templateMatcher{t: t, re: regexp.MustCompile(`(?s)` + pattern.String()), names: names}
}

// params returns the parameters that render text, or false if none do.
func (tm templateMatcher) params(text string) (map[string]string, bool) {
	if tm.re == nil {
		return nil, false
	}
	sub := tm.re.FindStringSubmatch(text)
	if sub == nil {
		return nil, false
	}
	params := map[string]string{}
	for i, name := range tm.names {
		if prev, dup := params[name]; dup && prev != sub[i+1] {
			return nil, false
		}
		params[name] = sub[i+1]
	}
	return params, tm.t.Render(params) == text
}

func sorted(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// providerProperties reports every provider call as container properties:
// sms.provider.NAME.ms (Avg, Max) and sms.provider.NAME.errors (Sum), with
// the error's class: sms.provider.NAME.timeouts counts the calls that ran
// out of their attempt timeout.
type providerProperties struct {
	latency, errors, timeouts map[string]*container.Property
}

func newProviderProperties(w *container.Worker, names []string) (*providerProperties, error) {
	pp := &providerProperties{latency: map[string]*container.Property{}, errors: map[string]*container.Property{}, timeouts: map[string]*container.Property{}}
	for _, n := range names {
		var err error
		if pp.latency[n], err = w.Property("sms.provider."+n+".ms", container.Avg, container.Max); err != nil {
			return nil, err
		}
		if pp.errors[n], err = w.Property("sms.provider."+n+".errors", container.Sum); err != nil {
			return nil, err
		}
		if pp.timeouts[n], err = w.Property("sms.provider."+n+".timeouts", container.Sum); err != nil {
			return nil, err
		}
	}
	return pp, nil
}

// observe is the router's RouterOptions.Observe.
func (pp *providerProperties) observe(c provider.Call) {
	pp.latency[c.Provider].Report(float64(c.Latency) / float64(time.Millisecond))
	if c.Err == nil {
		return
	}
	pp.errors[c.Provider].Report(1)
	var pe *provider.Error
	if errors.As(c.Err, &pe) && pe.TimedOut() {
		pp.timeouts[c.Provider].Report(1)
	}
}
