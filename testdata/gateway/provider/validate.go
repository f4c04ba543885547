package provider

import "slices"

// finish applies the cross-section rules and the per-kind defaults.
func (d *decoder) finish(doc document) error {
	c := &d.cfg
	if len(c.Providers) == 0 {
		if d.order != nil {
			return d.errAt(d.orderLine, "providers", "names providers without [provider.NAME] sections")
		}
		c.Providers = DefaultConfig().Providers
	}
	if d.order != nil {
		if err := d.reorder(); err != nil {
			return err
		}
	}
	for i := range c.Providers {
		if err := d.providerDefaults(&c.Providers[i]); err != nil {
			return err
		}
	}
	if err := d.routes(); err != nil {
		return err
	}
	r := c.Retry
	if r.FirstBackoff > r.MaxBackoff {
		return d.errAt(doc.sections["retry"], "retry.first_backoff", "is longer than max_backoff (%v > %v)", r.FirstBackoff, r.MaxBackoff)
	}
	return nil
}

// reorder puts the providers in the order of the providers key, which must
// name each [provider.NAME] section exactly once.
func (d *decoder) reorder() error {
	var ordered []ProviderConfig
	for _, name := range d.order {
		i := slices.IndexFunc(d.cfg.Providers, func(p ProviderConfig) bool { return p.Name == name })
		if i < 0 {
			return d.errAt(d.orderLine, "providers", "names %q, which has no [provider.%s] section", name, name)
		}
		if slices.ContainsFunc(ordered, func(p ProviderConfig) bool { return p.Name == name }) {
			return d.errAt(d.orderLine, "providers", "names %q twice", name)
		}
		ordered = append(ordered, d.cfg.Providers[i])
	}
	for _, p := range d.cfg.Providers {
		if !slices.Contains(d.order, p.Name) {
			return d.errAt(p.Line, "[provider."+p.Name+"]", "is not in the providers list at line %d", d.orderLine)
		}
	}
	d.cfg.Providers = ordered
	return nil
}

func (d *decoder) providerDefaults(p *ProviderConfig) error {
	key := "[provider." + p.Name + "]"
	switch p.Kind {
	case "":
		return d.errAt(p.Line, key, `has no type (want type = "aliyun", "tencent" or "simulated")`)
	case KindSimulated:
		if p.Latency == 0 {
			p.Latency = DefaultSimLatency
		}
		return nil
	case KindAliyun:
		setDefault(&p.Endpoint, AliyunEndpoint)
		setDefault(&p.Region, AliyunRegion)
	case KindTencent:
		setDefault(&p.Endpoint, TencentEndpoint)
		setDefault(&p.Region, TencentRegion)
		if p.SDKAppID == "" {
			return d.errAt(p.Line, key, "type tencent needs sdk_app_id (the SmsSdkAppId of the console)")
		}
	}
	cs := &p.Credentials
	if cs.File != "" && (cs.IDEnv != "" || cs.SecretEnv != "" || cs.ReceiptTokenEnv != "") {
		return d.errAt(p.Line, key, "set credentials_file or the *_env keys, not both")
	}
	idEnv, secretEnv := DefaultEnv(p.Kind)
	setDefault(&cs.IDEnv, idEnv)
	setDefault(&cs.SecretEnv, secretEnv)
	return nil
}

// routes checks that every template route names a real provider and that
// every real provider has a route for every template.
func (d *decoder) routes() error {
	for _, t := range d.cfg.Templates {
		for name, r := range t.Routes {
			key := "template." + t.Name + "." + name
			p, ok := d.cfg.Provider(name)
			if !ok || p.Kind == KindSimulated {
				return d.errAt(d.routeLines[key], "["+key+"]", "names no aliyun or tencent provider")
			}
			if r.TemplateCode == "" || r.SignName == "" {
				return d.errAt(d.routeLines[key], "["+key+"]", "needs template_code and sign_name")
			}
		}
		for _, p := range d.cfg.Providers {
			if _, ok := t.Routes[p.Name]; !ok && p.Kind != KindSimulated {
				return d.errAt(t.Line, "template."+t.Name+"."+p.Name, "missing: provider %s needs this template's template_code and sign_name", p.Name)
			}
		}
	}
	return nil
}

func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}
