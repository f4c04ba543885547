package config

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseSize: never panics, never negative, and agrees with plain
// integer arithmetic on "<digits><unit>"; a bare number other than 0 is
// always refused.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"10M", "512K", "1G", "1.5g", "0", "4096", "4096B", "10MB", "", "-1", "1e3", "9999999999999G"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("parseSize(%q) = %d < 0", s, n)
		}
		t2 := strings.ToUpper(strings.TrimSpace(s))
		if t2 == "0" {
			return
		}
		unit := int64(0)
		if n := len(t2); n > 1 && t2[n-1] == 'B' {
			t2, unit = t2[:n-1], 1
		}
		if n := len(t2); n > 0 {
			if i := strings.IndexByte("KMG", t2[n-1]); i >= 0 {
				unit, t2 = int64(1)<<(10*(i+1)), t2[:n-1]
			}
		}
		if unit == 0 {
			t.Fatalf("parseSize(%q) = %d: a bare number was accepted", s, n)
		}
		if i, err := strconv.ParseInt(t2, 10, 64); err == nil && i < 1<<20 {
			if want := i * unit; n != want {
				t.Fatalf("parseSize(%q) = %d; want %d", s, n, want)
			}
		}
	})
}

// FuzzManifest: arbitrary bytes never panic; errors are usage errors; an
// accepted manifest only holds known option keys, each read back through
// the option's parser without panicking.
func FuzzManifest(f *testing.F) {
	f.Add([]byte(`{"main":"app/svc","name":"A.S","instances":"max","keepalive-time":"off","max-memory-restart":"10M"}`))
	f.Add([]byte(`{"script-args":["a",1,true],"env":{"A":1},"watch":true,"version":"1","files":{"x":"y"}}`))
	f.Add([]byte(`{"instances": 4, "http-address": "[::1]:80", "applog-level": "warn", "unknown": 1}`))
	f.Add([]byte(`{"instances": 128, "steering": "spread"}`))
	f.Add([]byte("{\n\"main\": \"x\",\n}"))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseManifest("/srv/svc/node-agent.json", data)
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("error %T %v is not a *UsageError", err, err)
			}
			if !strings.Contains(err.Error(), "/srv/svc/node-agent.json") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for key, v := range m.options {
			opt, ok := lookupOption(key)
			if !ok {
				t.Fatalf("unknown key %q accepted", key)
			}
			if opt.name == "config" || opt.name == "log" || opt.name == "run-as-user" || opt.name == "run-as-group" {
				continue // touch the file system or the user database
			}
			b := &builder{cfg: defaultConfig()}
			if err := opt.apply(b, v); err != nil {
				var ue *UsageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), key) {
					t.Fatalf("apply %s: %v", key, err)
				}
			}
		}
	})
}

// FuzzSplitCommandLine: any argument list splits without panicking; every
// option handed to urfave/cli is a known long option in --name=value form.
func FuzzSplitCommandLine(f *testing.F) {
	f.Add("./gw -i 4 --name a.b -- x")
	f.Add("--watch=on ./gw --script-args -v")
	f.Add("-c")
	f.Add("--bogus ./gw")
	f.Fuzz(func(t *testing.T, line string) {
		c, err := splitCommandLine(strings.Split(line, " "))
		if err != nil {
			return
		}
		for _, fl := range c.flags {
			name, _, _ := strings.Cut(strings.TrimPrefix(fl, "--"), "=")
			if !strings.HasPrefix(fl, "--") {
				t.Fatalf("flag %q not in --name form", fl)
			}
			if _, ok := lookupOption(name); !ok {
				t.Fatalf("unknown option %q passed through", fl)
			}
		}
		if _, err := parseFlags(c, "/"); err != nil {
			t.Fatalf("urfave/cli rejected split flags %q: %v", c.flags, err)
		}
	})
}

// FuzzParseAddress: accepted addresses are canonical (parsing again gives
// the same text).
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"127.0.0.1:80", "[::1]:8080", "localhost:1", ":9", "[fe80::1%eth0]:80", "::1:80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseAddress(s)
		if err != nil {
			return
		}
		b, err := parseAddress(a)
		if err != nil || a != b {
			t.Fatalf("parseAddress(%q) = %q, but that parses as %q, %v", s, a, b, err)
		}
	})
}
