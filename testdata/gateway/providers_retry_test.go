package main

import (
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
	"github.com/nodeagent/node-agent/testdata/gateway/sms"
)

// TestConfigFileRetryReachesTheDeliverer: the [retry] section, jitter
// included, is the gateway's delivery policy; keys it leaves out are the
// seed design's defaults.
func TestConfigFileRetryReachesTheDeliverer(t *testing.T) {
	for _, c := range []struct {
		file string
		want provider.RetryPolicy
	}{
		{"[retry]\nmax_attempts = 5\nfirst_backoff = \"250ms\"\nmax_backoff = \"2s\"\njitter = 0.5\n",
			provider.RetryPolicy{MaxAttempts: 5, FirstBackoff: 250 * time.Millisecond, MaxBackoff: 2 * time.Second, Jitter: 0.5, AttemptTimeout: provider.DefaultAttemptTimeout}},
		{"[retry]\njitter = 0\n", // an explicit zero stays zero
			provider.RetryPolicy{MaxAttempts: provider.DefaultMaxAttempts, FirstBackoff: time.Second, MaxBackoff: time.Minute, AttemptTimeout: provider.DefaultAttemptTimeout}},
		{"[rate_limit]\nper_phone = 5\n",
			provider.RetryPolicy{MaxAttempts: provider.DefaultMaxAttempts, FirstBackoff: time.Second, MaxBackoff: time.Minute, Jitter: provider.DefaultJitter, AttemptTimeout: provider.DefaultAttemptTimeout}},
	} {
		ps, err := loadProviders(writeConfig(t, c.file), func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		if got := ps.smsConfig(sms.Config{}).Retry.WithDefaults(); got != c.want {
			t.Errorf("%q:\n got %+v\nwant %+v", c.file, got, c.want)
		}
	}
}
