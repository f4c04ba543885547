package sms

import (
	"strings"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigFromEnv(t *testing.T) {
	c, err := ConfigFromEnv(envMap(map[string]string{
		EnvDataDir: "/d", EnvProviderLatency: "5ms", EnvProviderFailureRate: "0.2",
		EnvProviderSeed: "7", EnvQueueSize: "9", EnvFaults: "1", EnvBackoffFirst: "100ms", EnvBackoffMax: "5s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{DataDir: "/d", ProviderLatency: 5 * time.Millisecond, ProviderFailureRate: 0.2, ProviderSeed: 7, QueueSize: 9, Faults: true,
		Retry: provider.RetryPolicy{FirstBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second, Jitter: provider.DefaultJitter}}
	if c != want {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
	c, _ = ConfigFromEnv(envMap(map[string]string{EnvProviderLatency: "0s"}))
	if d := c.withDefaults().ProviderLatency; d != 0 {
		t.Errorf("explicit 0s latency became %v", d)
	}
}

func TestConfigFromEnvErrorsNameTheVariable(t *testing.T) {
	for k, v := range map[string]string{
		EnvProviderLatency: "fast", EnvProviderFailureRate: "1.5", EnvProviderSeed: "-1",
		EnvQueueSize: "-1", EnvFaults: "maybe", EnvBackoffFirst: "soon", EnvBackoffMax: "0s",
	} {
		_, err := ConfigFromEnv(envMap(map[string]string{k: v}))
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: err = %v", k, v, err)
		}
	}
}

func TestConfigZeroValueMeansDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.RateLimit != DefaultRateLimit || c.RateWindow != DefaultRateWindow || c.Retry.MaxAttempts != provider.DefaultMaxAttempts ||
		c.ProviderLatency != DefaultProviderLatency || c.DataDir != DefaultDataDir() || c.Faults {
		t.Fatalf("defaults: %+v", c)
	}
	seed := provider.RetryPolicy{MaxAttempts: provider.DefaultMaxAttempts, FirstBackoff: time.Second, MaxBackoff: time.Minute, Jitter: provider.DefaultJitter}
	if c.Retry != seed {
		t.Fatalf("default retry policy %+v, want the seed design's %+v", c.Retry, seed)
	}
	if got := (provider.RetryPolicy{FirstBackoff: time.Millisecond}).WithDefaults(); got.Jitter != 0 || got.MaxBackoff != time.Minute {
		t.Fatalf("an explicit backoff keeps its jitter (none): %+v", got)
	}
	if _, err := New(Config{DataDir: t.TempDir(), ProviderFailureRate: 2}, discardLog(), Hooks{}); err == nil {
		t.Fatal("New accepted a failure rate of 2")
	}
}
