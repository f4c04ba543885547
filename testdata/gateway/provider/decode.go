package provider

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// decodeConfig turns a parsed document into a validated Config.
func decodeConfig(file string, doc document) (Config, error) {
	d := decoder{file: file, cfg: DefaultConfig(), providerLines: map[string]int{}, routeLines: map[string]int{}}
	d.cfg.File = file
	d.cfg.Providers = nil
	if err := d.sections(doc); err != nil {
		return Config{}, err
	}
	for _, e := range doc.entries {
		if err := d.entry(e); err != nil {
			return Config{}, err
		}
	}
	if err := d.finish(doc); err != nil {
		return Config{}, err
	}
	return d.cfg, nil
}

type decoder struct {
	file          string
	cfg           Config
	order         []string // the providers key, if given
	orderLine     int
	providerLines map[string]int
	routeLines    map[string]int // "template.NAME.PROVIDER" → its section line
}

func (d *decoder) errAt(line int, key, format string, args ...any) error {
	return &ParseError{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
}

// sections creates a provider or template for each such section header, in
// file order, and refuses unknown sections.
func (d *decoder) sections(doc document) error {
	for _, name := range doc.order {
		line := doc.sections[name]
		parts := strings.Split(name, ".")
		switch {
		case len(parts) == 1 && slices.Contains([]string{"retry", "breaker", "rate_limit"}, name):
		case len(parts) == 2 && parts[0] == "provider":
			d.cfg.Providers = append(d.cfg.Providers, ProviderConfig{Name: parts[1], Line: line})
			d.providerLines[parts[1]] = line
		case len(parts) == 2 && parts[0] == "template":
			d.cfg.Templates[parts[1]] = TemplateConfig{Name: parts[1], Line: line, Routes: map[string]Route{}}
		case len(parts) == 3 && parts[0] == "template":
			t, ok := d.cfg.Templates[parts[1]]
			if !ok {
				return d.errAt(line, "["+name+"]", "comes before (or without) its [template.%s] section", parts[1])
			}
			t.Routes[parts[2]] = Route{}
			d.routeLines[name] = line
		default:
			return d.errAt(line, "["+name+"]", "unknown section (want [retry], [breaker], [rate_limit], [provider.NAME], [template.NAME] or [template.NAME.PROVIDER])")
		}
	}
	return nil
}

// entry decodes one key = value line into the section it belongs to.
func (d *decoder) entry(e entry) error {
	parts := strings.Split(e.section, ".")
	switch {
	case e.section == "":
		if e.key != "providers" {
			return e.errorf(d.file, "unknown key (want providers, or a [section])")
		}
		if e.kind != kindArray || len(e.arr) == 0 {
			return e.errorf(d.file, `want a non-empty array of provider names, such as ["aliyun", "tencent"]`)
		}
		d.order, d.orderLine = e.arr, e.line
		return nil
	case e.section == "retry":
		return d.retry(e)
	case e.section == "breaker":
		return d.breaker(e)
	case e.section == "rate_limit":
		return d.rateLimit(e)
	case parts[0] == "provider":
		i := slices.IndexFunc(d.cfg.Providers, func(p ProviderConfig) bool { return p.Name == parts[1] })
		return d.provider(&d.cfg.Providers[i], e)
	case len(parts) == 2:
		t := d.cfg.Templates[parts[1]]
		if e.key != "params" {
			return e.errorf(d.file, "unknown key (want params)")
		}
		if e.kind != kindArray {
			return e.errorf(d.file, `want the parameter names in order, such as ["code"]`)
		}
		t.Params = e.arr
		d.cfg.Templates[parts[1]] = t
		return nil
	default:
		t := d.cfg.Templates[parts[1]]
		r := t.Routes[parts[2]]
		s, err := e.str()
		if err != nil {
			return e.errorf(d.file, "%v", err)
		}
		switch e.key {
		case "template_code":
			r.TemplateCode = s
		case "sign_name":
			r.SignName = s
		default:
			return e.errorf(d.file, "unknown key (want template_code, sign_name)")
		}
		t.Routes[parts[2]] = r
		return nil
	}
}

func (d *decoder) retry(e entry) error {
	p := &d.cfg.Retry
	switch e.key {
	case "max_attempts":
		return d.positiveInt(e, &p.MaxAttempts)
	case "first_backoff":
		return d.duration(e, &p.FirstBackoff)
	case "max_backoff":
		return d.duration(e, &p.MaxBackoff)
	case "attempt_timeout":
		return d.duration(e, &p.AttemptTimeout)
	case "jitter":
		return d.fraction(e, &p.Jitter)
	}
	return e.errorf(d.file, "unknown key (want max_attempts, first_backoff, max_backoff, jitter, attempt_timeout)")
}

func (d *decoder) breaker(e entry) error {
	switch e.key {
	case "failures":
		return d.positiveInt(e, &d.cfg.Breaker.Failures)
	case "cool_down":
		return d.duration(e, &d.cfg.Breaker.CoolDown)
	case "timeout_window":
		if e.kind != kindInt || e.i < 1 || e.i > MaxBreakerTimeoutWindow {
			return e.errorf(d.file, "want a number of calls from 1 to %d", MaxBreakerTimeoutWindow)
		}
		d.cfg.Breaker.TimeoutWindow = int(e.i)
		return nil
	case "timeout_rate":
		if (e.kind != kindFloat && e.kind != kindInt) || !(e.f > 0 && e.f <= 1) {
			return e.errorf(d.file, "want a share of calls above 0 and at most 1, such as 0.5")
		}
		d.cfg.Breaker.TimeoutRate = e.f
		return nil
	}
	return e.errorf(d.file, "unknown key (want failures, cool_down, timeout_window, timeout_rate)")
}

func (d *decoder) rateLimit(e entry) error {
	switch e.key {
	case "per_phone":
		return d.positiveInt(e, &d.cfg.RateLimit.PerPhone)
	case "window":
		return d.duration(e, &d.cfg.RateLimit.Window)
	}
	return e.errorf(d.file, "unknown key (want per_phone, window)")
}

var regionPattern = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

func (d *decoder) provider(p *ProviderConfig, e entry) error {
	if e.key == "failure_rate" {
		return d.fraction(e, &p.FailureRate)
	}
	if e.key == "latency" {
		return d.duration(e, &p.Latency)
	}
	if e.key == "seed" {
		if e.kind != kindInt || e.i < 0 {
			return e.errorf(d.file, "want an unsigned integer")
		}
		p.Seed = uint64(e.i)
		return nil
	}
	s, err := e.str()
	if err != nil {
		return e.errorf(d.file, "%v", err)
	}
	switch e.key {
	case "type":
		switch k := Kind(s); k {
		case KindSimulated, KindAliyun, KindTencent:
			p.Kind = k
		default:
			return e.errorf(d.file, "unknown provider type %q (want aliyun, tencent or simulated)", s)
		}
	case "endpoint":
		if err := checkEndpoint(s); err != nil {
			return e.errorf(d.file, "%v", err)
		}
		p.Endpoint = strings.TrimSuffix(s, "/")
	case "region":
		if !regionPattern.MatchString(s) {
			return e.errorf(d.file, "want a region id such as %s", AliyunRegion)
		}
		p.Region = s
	case "sdk_app_id":
		p.SDKAppID = s
	case "credentials_file":
		p.Credentials.File = s
	case "id_env":
		p.Credentials.IDEnv = s
	case "secret_env":
		p.Credentials.SecretEnv = s
	case "receipt_token_env":
		p.Credentials.ReceiptTokenEnv = s
	default:
		return e.errorf(d.file, "unknown key (want type, endpoint, region, sdk_app_id, credentials_file, id_env, secret_env, receipt_token_env, latency, failure_rate, seed)")
	}
	return nil
}

func (d *decoder) positiveInt(e entry, dst *int) error {
	if e.kind != kindInt || e.i < 1 || e.i > 1<<31 {
		return e.errorf(d.file, "want a positive integer")
	}
	*dst = int(e.i)
	return nil
}

func (d *decoder) duration(e entry, dst *time.Duration) error {
	s, err := e.str()
	if err != nil {
		return e.errorf(d.file, `want a quoted duration such as "1s" or "500ms"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return e.errorf(d.file, `want a positive duration such as "1s" or "500ms"`)
	}
	*dst = v
	return nil
}

func (d *decoder) fraction(e entry, dst *float64) error {
	if (e.kind != kindFloat && e.kind != kindInt) || !(e.f >= 0 && e.f <= 1) {
		return e.errorf(d.file, "want a number between 0 and 1")
	}
	*dst = e.f
	return nil
}
