package provider

import (
	"net/http"
	"slices"
	"time"
)

// BuildOptions are the process-side inputs of Build.
type BuildOptions struct {
	Getenv    func(string) string // os.Getenv in production
	Transport http.RoundTripper   // for the real providers; a clone of http.DefaultTransport when nil
	Now       func() time.Time    // the breakers' clock; time.Now when nil
	Observe   func(Call)          // see RouterOptions.Observe
}

// Build creates the configured providers, loading their credentials, and
// returns the router over them and the receipt endpoints of those with a
// receipt token. A credential problem is a *ParseError naming the
// provider's section.
func Build(cfg Config, o BuildOptions) (*Router, map[string]ReceiptEndpoint, error) {
	var ps []Provider
	receipts := map[string]ReceiptEndpoint{}
	for _, pc := range cfg.Providers {
		p, token, err := buildOne(cfg, pc, o)
		if err != nil {
			return nil, nil, err
		}
		ps = append(ps, p)
		if !token.IsZero() {
			receipts[pc.Name] = ReceiptEndpoint{Kind: pc.Kind, Token: token}
		}
	}
	r, err := NewRouter(ps, RouterOptions{Breaker: cfg.Breaker, AttemptTimeout: cfg.Retry.AttemptTimeout, Now: o.Now, Observe: o.Observe})
	if err != nil {
		return nil, nil, err
	}
	return r, receipts, nil
}

func buildOne(cfg Config, pc ProviderConfig, o BuildOptions) (Provider, Secret, error) {
	if pc.Kind == KindSimulated {
		return NewSimulated(pc.Name, pc.Latency, pc.FailureRate, pc.Seed), Secret{}, nil
	}
	creds, token, err := pc.Credentials.Load(o.Getenv)
	if err != nil {
		return nil, Secret{}, &ParseError{File: cfg.File, Line: pc.Line, Key: "[provider." + pc.Name + "]", Msg: err.Error()}
	}
	routes := map[string]Route{}
	for name, t := range cfg.Templates {
		routes[name] = t.Routes[pc.Name]
	}
	var p Provider
	switch pc.Kind {
	case KindAliyun:
		p, err = NewAliyun(AliyunOptions{Name: pc.Name, Endpoint: pc.Endpoint, Region: pc.Region, Credentials: creds, Routes: routes, Transport: o.Transport, Timeout: cfg.Retry.AttemptTimeout})
	default:
		p, err = NewTencent(TencentOptions{Name: pc.Name, Endpoint: pc.Endpoint, Region: pc.Region, SDKAppID: pc.SDKAppID, Credentials: creds, Routes: routes, Transport: o.Transport, Timeout: cfg.Retry.AttemptTimeout})
	}
	if err != nil {
		return nil, Secret{}, &ParseError{File: cfg.File, Line: pc.Line, Key: "[provider." + pc.Name + "]", Msg: err.Error()}
	}
	return p, token, nil
}

// Message builds the Message for a gateway request, ordering the template
// params as the [template.NAME] section's params key says (sorted by name
// when the template is not configured or names none).
func (c Config) Message(id, phone, template string, params map[string]string, content string) Message {
	order := c.Templates[template].Params
	if len(order) == 0 {
		for k := range params {
			order = append(order, k)
		}
		slices.Sort(order)
	}
	m := Message{ID: id, Phone: phone, Template: template, Content: content}
	for _, k := range order {
		if v, ok := params[k]; ok {
			m.Params = append(m.Params, Param{Name: k, Value: v})
		}
	}
	return m
}
