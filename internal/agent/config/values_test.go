package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  string
	}{
		{"10M", 10 << 20, ""},
		{"512K", 512 << 10, ""},
		{"1G", 1 << 30, ""},
		{"1g", 1 << 30, ""},
		{"10MB", 10 << 20, ""},
		{"10kb", 10 << 10, ""},
		{"1.5G", 3 << 29, ""},
		{" 7k ", 7 << 10, ""},
		{"4096B", 4096, ""},
		{"4096b", 4096, ""},
		{"0", 0, ""},
		{"0.5M", 1 << 19, ""},
		// One rule for every size option: a unit is required.
		{"4096", 0, "has no unit"},
		{"100", 0, "B, K, M or G"},
		{"0.5", 0, "has no unit"},
		{"", 0, "empty size"},
		{"M", 0, "not a size"},
		{"MB", 0, "not a size"},
		{"B", 0, "not a size"},
		{"-1M", 0, "not a size"},
		{"+1M", 0, "not a size"},
		{"1e3", 0, "not a size"},
		{"0x10", 0, "not a size"},
		{"Inf", 0, "not a size"},
		{"NaN", 0, "not a size"},
		{"1.", 0, "not a size"},
		{".5", 0, "not a size"},
		{"1.2.3", 0, "not a size"},
		{"10T", 0, "not a size"},
		{"10 M", 0, "not a size"},
		{"9999999999G", 0, "too large"},
		{"9223372036854775807B", 0, "too large"},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseSize(%q) = %d, %v; want error containing %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParseBool(t *testing.T) {
	for _, s := range []string{"on", "ON", "true", "True", "1", " on "} {
		if v, err := parseBool(s); err != nil || !v {
			t.Errorf("parseBool(%q) = %v, %v; want true", s, v, err)
		}
	}
	for _, s := range []string{"off", "OFF", "false", "0"} {
		if v, err := parseBool(s); err != nil || v {
			t.Errorf("parseBool(%q) = %v, %v; want false", s, v, err)
		}
	}
	for _, s := range []string{"", "yes", "no", "2", "onn", "t"} {
		if _, err := parseBool(s); err == nil {
			t.Errorf("parseBool(%q) succeeded; want error", s)
		}
	}
}

func TestParseInstances(t *testing.T) {
	tests := []struct {
		in   string
		mode InstancesMode
		n    int
		ok   bool
	}{
		{"auto", InstancesAuto, 0, true},
		{"AUTO", InstancesAuto, 0, true},
		{"max", InstancesMax, 0, true},
		{"Max", InstancesMax, 0, true},
		{"1", InstancesFixed, 1, true},
		{"4", InstancesFixed, 4, true},
		{"4096", InstancesFixed, 4096, true},
		{"4097", 0, 0, false},
		{"0", 0, 0, false},
		{"-1", 0, 0, false},
		{"", 0, 0, false},
		{"4.0", 0, 0, false},
		{"many", 0, 0, false},
		{"99999999999999999999999", 0, 0, false},
	}
	for _, tt := range tests {
		mode, n, err := parseInstances(tt.in)
		if (err == nil) != tt.ok || mode != tt.mode || n != tt.n {
			t.Errorf("parseInstances(%q) = %v, %d, %v; want %v, %d, ok=%v", tt.in, mode, n, err, tt.mode, tt.n, tt.ok)
		}
	}
}

func TestParseOffOrCount(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"off", 0, true}, {"OFF", 0, true}, {"0", 0, true}, {"1", 1, true}, {"300", 300, true},
		{"600", 0, false}, {"-5", 0, false}, {"on", 0, false}, {"", 0, false}, {"1s", 0, false},
	}
	for _, tt := range tests {
		got, err := parseOffOrCount(tt.in, 1, 599)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseOffOrCount(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseMillis(t *testing.T) {
	if d, err := parseMillis("1500"); err != nil || d != 1500*time.Millisecond {
		t.Errorf("parseMillis(1500) = %v, %v", d, err)
	}
	for _, s := range []string{"", "1.5", "-1", "1s", "1099511627777"} {
		if _, err := parseMillis(s); err == nil {
			t.Errorf("parseMillis(%q) succeeded; want error", s)
		}
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]Level{"debug": LevelDebug, "Info": LevelInfo, "WARN": LevelWarn, " error ": LevelError, "none": LevelNone} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "WARNING", "TRACE", "3"} {
		if _, err := ParseLevel(in); err == nil || !strings.Contains(err.Error(), "DEBUG, INFO, WARN, ERROR or NONE") {
			t.Errorf("ParseLevel(%q) error = %v; want one naming the levels", in, err)
		}
	}
}

func TestParseEnv(t *testing.T) {
	got, err := parseEnv(`{"A":"x","PORT":8080,"F":1.5,"B":true,"E":"" }`)
	want := map[string]string{"A": "x", "PORT": "8080", "F": "1.5", "B": "true", "E": ""}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("parseEnv = %v, %v; want %v", got, err, want)
	}
	if got, err := parseEnv(`{}`); err != nil || len(got) != 0 {
		t.Errorf("parseEnv({}) = %v, %v", got, err)
	}
	bad := map[string]string{
		``:                "JSON object",
		`{`:               "JSON object",
		`null`:            "not null",
		`[1]`:             "JSON object",
		`"x"`:             "JSON object",
		`{"A":1} {}`:      "unexpected data",
		`{"A":1} }`:       "unexpected data",
		`{"A":null}`:      "string, number or boolean",
		`{"A":{"B":1}}`:   "string, number or boolean",
		`{"A":[1]}`:       "string, number or boolean",
		`{"":"x"}`:        "not a valid environment variable name",
		`{"A=B":"x"}`:     "not a valid environment variable name",
		`{"A":"x\u0000"}`: "NUL",
	}
	for in, msg := range bad {
		if _, err := parseEnv(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("parseEnv(%q) error = %v; want one containing %q", in, err, msg)
		}
	}
}

func TestParseAddress(t *testing.T) {
	good := map[string]string{
		"127.0.0.1:8080":      "127.0.0.1:8080",
		"0.0.0.0:1":           "0.0.0.0:1",
		":8080":               ":8080",
		"[::1]:8080":          "[::1]:8080",
		"[::]:65535":          "[::]:65535",
		"[fe80::1%eth0]:80":   "[fe80::1%eth0]:80",
		"[2001:DB8::1]:443":   "[2001:db8::1]:443",
		"localhost:80":        "localhost:80",
		"svc.local:08080":     "svc.local:8080",
		"my_host-1.example:9": "my_host-1.example:9",
		" 127.0.0.1:80 ":      "127.0.0.1:80",
	}
	for in, want := range good {
		if got, err := parseAddress(in); err != nil || got != want {
			t.Errorf("parseAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:http",
		"::1:8080", "[::1]", "[::1]8080", "[]:80", "[::1]:80]", "host name:80", "-bad:80",
		"[example.com]:80", "a..b:80", "127.0.0.1:-1",
	} {
		if got, err := parseAddress(in); err == nil {
			t.Errorf("parseAddress(%q) = %q; want error", in, got)
		}
	}
}

func TestSplitArgs(t *testing.T) {
	if got := splitArgs("  -v   --port 80\t x "); !reflect.DeepEqual(got, []string{"-v", "--port", "80", "x"}) {
		t.Errorf("splitArgs = %q", got)
	}
	if got := splitArgs("   "); len(got) != 0 {
		t.Errorf("splitArgs(blank) = %q; want none", got)
	}
}

func TestLineCol(t *testing.T) {
	data := []byte("ab\ncd\nef")
	for off, want := range map[int64][2]int{0: {1, 1}, 1: {1, 2}, 3: {2, 1}, 4: {2, 2}, 7: {3, 2}, 100: {3, 3}, -4: {1, 1}} {
		if l, c := lineCol(data, off); l != want[0] || c != want[1] {
			t.Errorf("lineCol(%d) = %d:%d; want %d:%d", off, l, c, want[0], want[1])
		}
	}
}
