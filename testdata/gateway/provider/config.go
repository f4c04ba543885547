package provider

import (
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// Defaults of the configuration file, used where a key is absent.
const (
	DefaultMaxAttempts     = 8                // provider calls per message, failovers within one attempt not counted; the gateway's one default, config file or not
	DefaultFirstBackoff    = time.Second      // wait after the first failed attempt
	DefaultMaxBackoff      = 60 * time.Second // cap of the doubling backoff
	DefaultJitter          = 0.2              // a wait is drawn from [(1-jitter)·d, d]
	DefaultAttemptTimeout  = 10 * time.Second // bound of one provider call
	DefaultBreakerFailures = 3                // consecutive failures that open a provider's breaker
	DefaultBreakerCoolDown = 5 * time.Second  // open time before a half-open probe
	DefaultRatePerPhone    = 3                // messages per phone per window
	DefaultRateWindow      = time.Minute
	DefaultSimLatency      = 20 * time.Millisecond
)

// Defaults of the breaker's timeout-rate trigger, and the largest window.
const (
	DefaultBreakerTimeoutWindow = 20  // the last calls over which the timeout rate is judged
	DefaultBreakerTimeoutRate   = 0.5 // share of timeouts in a full window that opens the breaker
	MaxBreakerTimeoutWindow     = 10_000
)

// Default endpoints of the real services.
const (
	AliyunEndpoint  = "https://dysmsapi.aliyuncs.com"
	TencentEndpoint = "https://sms.tencentcloudapi.com"
	AliyunRegion    = "cn-hangzhou"
	TencentRegion   = "ap-guangzhou"
)

// EnvConfig names the environment alternative to the gateway's -config flag.
const EnvConfig = "SMS_CONFIG"

// Config is the gateway's provider configuration, parsed once from the
// config file. The zero value (and an absent file) means one simulated
// provider and the defaults above.
type Config struct {
	File      string           // the file it came from, for messages
	Providers []ProviderConfig // in failover order
	Templates map[string]TemplateConfig
	Retry     RetryPolicy
	Breaker   BreakerPolicy
	RateLimit RateLimit
}

// ProviderConfig is one [provider.NAME] section.
type ProviderConfig struct {
	Name     string
	Kind     Kind
	Line     int    // of the section header, for messages
	Endpoint string // base URL, scheme and host[:port]; the service's default when empty
	Region   string
	// SDKAppID is Tencent's SmsSdkAppId (required for kind tencent).
	SDKAppID    string
	Credentials CredentialSource
	// Simulated only.
	Latency     time.Duration
	FailureRate float64
	Seed        uint64
}

// TemplateConfig is one [template.NAME] section and its
// [template.NAME.PROVIDER] routes.
type TemplateConfig struct {
	Name   string
	Params []string         // parameter order; Tencent takes values positionally
	Routes map[string]Route // by provider name
	Line   int
}

// RetryPolicy is the [retry] section.
type RetryPolicy struct {
	MaxAttempts    int
	FirstBackoff   time.Duration
	MaxBackoff     time.Duration
	Jitter         float64
	AttemptTimeout time.Duration
}

// BreakerPolicy is the [breaker] section.
type BreakerPolicy struct {
	Failures int           // consecutive provider failures that open the breaker
	CoolDown time.Duration // how long it stays open before one probe is let through
	// TimeoutWindow and TimeoutRate: the breaker also opens when timeouts
	// are at least TimeoutRate (0 < rate ≤ 1) of the last TimeoutWindow
	// calls, successes in between or not. Zero values mean the defaults.
	TimeoutWindow int
	TimeoutRate   float64
}

// RateLimit is the [rate_limit] section.
type RateLimit struct {
	PerPhone int
	Window   time.Duration
}

// DefaultConfig is the configuration without a file: the simulated provider.
func DefaultConfig() Config {
	return Config{
		Providers: []ProviderConfig{{Name: "simulated", Kind: KindSimulated, Latency: DefaultSimLatency}},
		Templates: map[string]TemplateConfig{},
		Retry:     RetryPolicy{MaxAttempts: DefaultMaxAttempts, FirstBackoff: DefaultFirstBackoff, MaxBackoff: DefaultMaxBackoff, Jitter: DefaultJitter, AttemptTimeout: DefaultAttemptTimeout},
		Breaker:   BreakerPolicy{Failures: DefaultBreakerFailures, CoolDown: DefaultBreakerCoolDown, TimeoutWindow: DefaultBreakerTimeoutWindow, TimeoutRate: DefaultBreakerTimeoutRate},
		RateLimit: RateLimit{PerPhone: DefaultRatePerPhone, Window: DefaultRateWindow},
	}
}

// LoadConfig reads and validates the config file at path. Any problem is
// one *ParseError naming the file, the line and the key.
func LoadConfig(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, &ParseError{File: path, Msg: err.Error()}
	}
	defer f.Close()
	doc, err := parseDocument(path, f)
	if err != nil {
		return Config{}, err
	}
	return decodeConfig(path, doc)
}

// ParseConfig is LoadConfig for text already read; file names it in errors.
func ParseConfig(file string, text string) (Config, error) {
	doc, err := parseDocument(file, strings.NewReader(text))
	if err != nil {
		return Config{}, err
	}
	return decodeConfig(file, doc)
}

// checkEndpoint validates a provider endpoint: http or https, a host, no
// path, query or user info.
func checkEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("want an http or https URL such as %s", AliyunEndpoint)
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("want scheme://host[:port] only, such as %s", AliyunEndpoint)
	}
	return nil
}

// ProviderNames returns the configured provider names in failover order.
func (c Config) ProviderNames() []string {
	names := make([]string, len(c.Providers))
	for i, p := range c.Providers {
		names[i] = p.Name
	}
	return names
}

// Provider returns the named provider's configuration.
func (c Config) Provider(name string) (ProviderConfig, bool) {
	i := slices.IndexFunc(c.Providers, func(p ProviderConfig) bool { return p.Name == name })
	if i < 0 {
		return ProviderConfig{}, false
	}
	return c.Providers[i], true
}
