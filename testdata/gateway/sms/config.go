package sms

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nodeagent/node-agent/container"
	"github.com/nodeagent/node-agent/testdata/gateway/provider"
)

// Defaults used where a Config field is left at its zero value.
const (
	DefaultRateLimit       = 3                          // messages per phone per DefaultRateWindow
	DefaultRateWindow      = time.Minute                // sliding window of the per-phone limit
	DefaultSenders         = 8                          // concurrent provider calls per worker
	DefaultLease           = 1500 * time.Millisecond    // a lost worker's messages are taken over after at most this long
	DefaultPollInterval    = 100 * time.Millisecond     // how often a worker looks for other workers' messages
	DefaultKeyTTL          = 24 * time.Hour             // how long an Idempotency-Key is remembered
	DefaultProviderTimeout = 10 * time.Second           // bound of one HTTP provider call
	DefaultShutdownTimeout = 5 * time.Second            // the HTTP drain gets this long
	DefaultIdleGrace       = container.DefaultIdleGrace // an idle keep-alive connection's last chance in the drain
	DefaultDrainTimeout    = 5 * time.Second            // provider calls under way get this long after HTTP stops
	DefaultProviderLatency = 20 * time.Millisecond      // simulated provider round trip
	DefaultMaxBodyBytes    = 16 << 10                   // request bodies above this are refused with 413
	DefaultMaxContentRunes = 480                        // three concatenated 160-character SMS parts
	DefaultMaxGrowMB       = 4096                       // ceiling of one /debug/fault/grow call
)

// Environment variables read by ConfigFromEnv.
const (
	EnvDataDir             = "SMS_DATA_DIR"
	EnvStore               = "SMS_STORE"
	EnvProviderURL         = "SMS_PROVIDER_URL"
	EnvLease               = "SMS_LEASE"
	EnvProviderLatency     = "SMS_PROVIDER_LATENCY"
	EnvProviderFailureRate = "SMS_PROVIDER_FAILURE_RATE"
	EnvProviderSeed        = "SMS_PROVIDER_SEED"
	EnvQueueSize           = "SMS_QUEUE_SIZE"
	EnvBackoffFirst        = "SMS_BACKOFF_FIRST"
	EnvBackoffMax          = "SMS_BACKOFF_MAX"
	EnvFaults              = "GATEWAY_FAULTS"
)

// Config is the gateway's validated configuration. The zero value is usable:
// every zero field means the matching Default constant (and an empty DataDir
// means DefaultDataDir()).
type Config struct {
	// Store selects the store shared by all workers (see OpenStore): empty
	// for the embedded SQLite database in DataDir, "redis://HOST:PORT/DB"
	// for Redis. Workers that must agree on limits, records and the queue
	// need the same store.
	Store string
	// DataDir holds the embedded store's database (sms.db).
	DataDir string
	// WorkerID is reported in /healthz, X-Worker-Id and message records.
	WorkerID int

	RateLimit  int           // accepted messages per phone per RateWindow
	RateWindow time.Duration // sliding window of the rate limit

	// QueueSize, when > 0, bounds the messages queued or sending in the
	// whole store: a send beyond it is refused with 503 and Retry-After.
	// Zero means no bound: the store is the buffer.
	QueueSize    int
	Senders      int           // concurrent provider calls of this worker
	Lease        time.Duration // delivery lease; a lost worker's messages are taken over after it
	PollInterval time.Duration // how often to look for other workers' messages and expired leases
	KeyTTL       time.Duration // how long an Idempotency-Key is remembered
	// Retry bounds the attempts of a message (MaxAttempts) and the waits
	// between them (FirstBackoff doubling up to MaxBackoff, each shortened
	// by up to Jitter of itself); see provider.RetryPolicy.WithDefaults for
	// its zero fields (provider.DefaultMaxAttempts: 8 attempts).
	// AttemptTimeout is the provider router's, not used here.
	Retry provider.RetryPolicy

	// ProviderURL, when set, sends through an HTTPProvider at this URL
	// instead of the in-process stub.
	ProviderURL string
	// ProviderLatency is the simulated duration of one provider call.
	// Negative means none (zero means the default).
	ProviderLatency time.Duration
	// ProviderFailureRate is the probability in [0, 1] that a provider call
	// fails with a temporary error.
	ProviderFailureRate float64
	// ProviderSeed seeds the failure draw; zero means a random seed.
	ProviderSeed uint64

	ShutdownTimeout time.Duration // bound of the HTTP drain (container.DrainOptions.Timeout)
	IdleGrace       time.Duration // container.DrainOptions.IdleGrace
	DrainTimeout    time.Duration // provider calls under way get this long after the HTTP drain

	MaxBodyBytes    int64 // request body limit
	MaxContentRunes int   // limit of the message text, templates rendered

	// Faults enables the /debug/fault/* routes. Tests only.
	Faults bool
}

// DefaultDataDir is os.TempDir()/sms-gateway-<uid>: shared by every worker
// that the same user runs on this host.
func DefaultDataDir() string {
	return filepath.Join(os.TempDir(), "sms-gateway-"+strconv.Itoa(os.Getuid()))
}

// ConfigFromEnv reads the SMS_* and GATEWAY_FAULTS variables through getenv
// (os.Getenv in production) on top of the defaults. An invalid value is an
// error naming the variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var c Config
	c.DataDir = getenv(EnvDataDir)
	c.Store = getenv(EnvStore)
	c.ProviderURL = getenv(EnvProviderURL)
	if v := getenv(EnvLease); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 30*time.Millisecond {
			return c, fmt.Errorf("%s=%q: want a duration of at least 30ms, such as 1500ms", EnvLease, v)
		}
		c.Lease = d
	}
	if v := getenv(EnvProviderLatency); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return c, fmt.Errorf("%s=%q: want a duration such as 20ms or 0s", EnvProviderLatency, v)
		}
		c.ProviderLatency = d
		if d == 0 {
			c.ProviderLatency = -1 // explicit zero: no latency
		}
	}
	if v := getenv(EnvProviderFailureRate); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return c, fmt.Errorf("%s=%q: want a probability between 0 and 1, such as 0.2", EnvProviderFailureRate, v)
		}
		c.ProviderFailureRate = f
	}
	if v := getenv(EnvProviderSeed); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return c, fmt.Errorf("%s=%q: want an unsigned integer", EnvProviderSeed, v)
		}
		c.ProviderSeed = s
	}
	if v := getenv(EnvQueueSize); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return c, fmt.Errorf("%s=%q: want a number of messages, 0 for no bound", EnvQueueSize, v)
		}
		c.QueueSize = n
	}
	for _, b := range []struct {
		env string
		to  *time.Duration
	}{{EnvBackoffFirst, &c.Retry.FirstBackoff}, {EnvBackoffMax, &c.Retry.MaxBackoff}} {
		if v := getenv(b.env); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return c, fmt.Errorf("%s=%q: want a positive duration such as 1s", b.env, v)
			}
			*b.to = d
			c.Retry.Jitter = provider.DefaultJitter
		}
	}
	if v := getenv(EnvFaults); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("%s=%q: want 1 or 0", EnvFaults, v)
		}
		c.Faults = b
	}
	return c, nil
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir()
	}
	setDefault(&c.RateLimit, DefaultRateLimit)
	setDefault(&c.RateWindow, DefaultRateWindow)
	setDefault(&c.Senders, DefaultSenders)
	setDefault(&c.Lease, DefaultLease)
	setDefault(&c.PollInterval, DefaultPollInterval)
	setDefault(&c.KeyTTL, DefaultKeyTTL)
	c.Retry = c.Retry.WithDefaults()
	setDefault(&c.ProviderLatency, DefaultProviderLatency)
	if c.ProviderLatency < 0 {
		c.ProviderLatency = 0
	}
	setDefault(&c.ShutdownTimeout, DefaultShutdownTimeout)
	setDefault(&c.IdleGrace, DefaultIdleGrace)
	setDefault(&c.DrainTimeout, DefaultDrainTimeout)
	setDefault(&c.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&c.MaxContentRunes, DefaultMaxContentRunes)
	return c
}

func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}
