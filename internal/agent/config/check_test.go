package config

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckOption(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"instances", "4", ""},
		{"instances", "max", ""},
		{"instances", "lots", "--instances"},
		{"max-memory-restart", "512M", ""},
		{"max-memory-restart", "much", "--max-memory-restart"},
		{"applog-level", "LOUD", "--applog-level"},
		{"http-address", "127.0.0.1:8080", ""},
		{"http-address", "nowhere", "--http-address"},
		{"env", "{", "--env"},
		{"config", "/etc/app.conf", ""}, // need not exist here
		{"config", " ", "--config"},
		{"run-as-user", "svc-user-of-the-target", ""},
		{"bogus", "1", `"bogus" is not an option`},
	} {
		err := CheckOption(c.name, c.text)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s=%s: %v", c.name, c.text, err)
			}
			continue
		}
		var usage *UsageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%s: %v, want a *UsageError naming %q", c.name, c.text, err, c.want)
		}
	}
}
