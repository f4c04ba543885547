package provider_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
)

func TestLoadConfigFull(t *testing.T) {
	c, err := provider.LoadConfig("testdata/full.toml")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.ProviderNames(), ","); got != "aliyun,tencent" {
		t.Fatalf("providers %s", got)
	}
	ali, _ := c.Provider("aliyun")
	tc, _ := c.Provider("tencent")
	if ali.Kind != provider.KindAliyun || ali.Endpoint != provider.AliyunEndpoint || ali.Credentials.SecretEnv != "ALIBABA_CLOUD_ACCESS_KEY_SECRET" || ali.Line != 21 {
		t.Fatalf("aliyun %+v", ali)
	}
	if tc.Endpoint != provider.TencentEndpoint || tc.SDKAppID != "1400000000" || tc.Credentials.File != "/etc/sms-gateway/tencent.credentials" {
		t.Fatalf("tencent %+v", tc)
	}
	want := provider.RetryPolicy{MaxAttempts: 8, FirstBackoff: time.Second, MaxBackoff: time.Minute, Jitter: 0.2, AttemptTimeout: 10 * time.Second}
	wantBreaker := provider.BreakerPolicy{Failures: 3, CoolDown: 5 * time.Second, TimeoutWindow: 20, TimeoutRate: 0.5}
	if c.Retry != want || c.Breaker != wantBreaker || c.RateLimit.PerPhone != 3 {
		t.Fatalf("policies %+v %+v %+v", c.Retry, c.Breaker, c.RateLimit)
	}
	if r := c.Templates["verify_code"].Routes["tencent"]; r.TemplateCode != "1000001" || r.SignName != "Example" {
		t.Fatalf("route %+v", r)
	}
	m := c.Message("id", "+8613800138000", "verify_code", map[string]string{"code": "1"}, "")
	if len(m.Params) != 1 || m.Params[0] != (provider.Param{Name: "code", Value: "1"}) {
		t.Fatalf("message %+v", m)
	}
}

func TestDefaultConfigIsSimulated(t *testing.T) {
	c, err := provider.ParseConfig("empty.toml", "# nothing\n")
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := provider.Build(c, provider.BuildOptions{Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	if r.Describe() != "simulated(simulated)" {
		t.Fatalf("default providers %q", r.Describe())
	}
	if _, err := r.Send(ctxT(t), provider.Message{ID: "1", Phone: "+4915112345678", Content: "hi"}); err != nil {
		t.Fatal(err)
	}
}

// TestConfigErrors: every bad file gives one error naming file, line and key.
func TestConfigErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"providers = [\"a\"\n", `f.toml:1: providers: want ',' or ']' after an array element`},
		{"x = 1", `f.toml:1: x: unknown key (want providers, or a [section])`},
		{"\n[retry]\nmax_attempts = 0", `f.toml:3: retry.max_attempts: want a positive integer`},
		{"[retry]\nfirst_backoff = 1", `f.toml:2: retry.first_backoff: want a quoted duration such as "1s" or "500ms"`},
		{"[retry]\nfirst_backoff = \"-1s\"", `f.toml:2: retry.first_backoff: want a positive duration such as "1s" or "500ms"`},
		{"[retry]\njitter = 2", `f.toml:2: retry.jitter: want a number between 0 and 1`},
		{"[retry]\nfirst_backoff = \"2m\"\nmax_backoff = \"1m\"", `f.toml:1: retry.first_backoff: is longer than max_backoff (2m0s > 1m0s)`},
		{"[retry]\nmax_attempts = 2\nmax_attempts = 3", `f.toml:3: retry.max_attempts: key repeated (first at line 2)`},
		{"[breaker]\ntimeout_window = 0", `f.toml:2: breaker.timeout_window: want a number of calls from 1 to 10000`},
		{"[breaker]\ntimeout_window = 10001", `f.toml:2: breaker.timeout_window: want a number of calls from 1 to 10000`},
		{"[breaker]\ntimeout_window = \"20\"", `f.toml:2: breaker.timeout_window: want a number of calls from 1 to 10000`},
		{"[breaker]\ntimeout_rate = 0", `f.toml:2: breaker.timeout_rate: want a share of calls above 0 and at most 1, such as 0.5`},
		{"[breaker]\ntimeout_rate = 1.5", `f.toml:2: breaker.timeout_rate: want a share of calls above 0 and at most 1, such as 0.5`},
		{"[breaker]\nwindow = 5", `f.toml:2: breaker.window: unknown key (want failures, cool_down, timeout_window, timeout_rate)`},
		{"[retri]", `f.toml:1: [retri]: unknown section (want [retry], [breaker], [rate_limit], [provider.NAME], [template.NAME] or [template.NAME.PROVIDER])`},
		{"[provider.a]\n", `f.toml:1: [provider.a]: has no type (want type = "aliyun", "tencent" or "simulated")`},
		{"[provider.a]\ntype = \"twilio\"", `f.toml:2: provider.a.type: unknown provider type "twilio" (want aliyun, tencent or simulated)`},
		{"[provider.a]\ntype = \"aliyun\"\nendpoint = \"ftp://x\"", `f.toml:3: provider.a.endpoint: want an http or https URL such as https://dysmsapi.aliyuncs.com`},
		{"[provider.t]\ntype = \"tencent\"", `f.toml:1: [provider.t]: type tencent needs sdk_app_id (the SmsSdkAppId of the console)`},
		{"[provider.a]\ntype = \"aliyun\"\ncredentials_file = \"/x\"\nid_env = \"X\"", `f.toml:1: [provider.a]: set credentials_file or the *_env keys, not both`},
		{"providers = [\"b\"]\n[provider.a]\ntype = \"aliyun\"", `f.toml:1: providers: names "b", which has no [provider.b] section`},
		{"providers = [\"a\"]\n[provider.a]\ntype = \"aliyun\"\n[provider.b]\ntype = \"aliyun\"", `f.toml:4: [provider.b]: is not in the providers list at line 1`},
		{"[provider.a]\ntype = \"aliyun\"\n[template.v]\nparams = [\"code\"]", `f.toml:3: template.v.a: missing: provider a needs this template's template_code and sign_name`},
		{"[template.v.a]\n", `f.toml:1: [template.v.a]: comes before (or without) its [template.v] section`},
		{"[provider.a]\ntype = \"aliyun\"\n[template.v]\n[template.v.a]\ntemplate_code = \"X\"", `f.toml:4: [template.v.a]: needs template_code and sign_name`},
		{"[provider.s]\ntype = \"simulated\"\n[template.v]\n[template.v.s]\ntemplate_code = \"X\"", `f.toml:4: [template.v.s]: names no aliyun or tencent provider`},
		{"[provider.a]\ntype = \"aliyun\"\nregion = \"Hang Zhou\"", `f.toml:3: provider.a.region: want a region id such as cn-hangzhou`},
		{"key", `f.toml:1: want key = value, a [section] or a # comment`},
		{"[a..b]", `f.toml:1: [a..b]: invalid section name "a..b": dot-separated parts of letters, digits, '_' and '-'`},
		{"providers = \"a\" extra", `f.toml:1: providers: unexpected "extra" after the value`},
		{"providers = a", `f.toml:1: providers: invalid value "a": strings need double quotes`},
	} {
		_, err := provider.ParseConfig("f.toml", c.text)
		if err == nil || err.Error() != c.want {
			t.Errorf("%q:\n got  %v\n want %s", c.text, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error spans lines: %q", c.text, err)
		}
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	_, err := provider.LoadConfig("testdata/no-such.toml")
	if err == nil || !strings.HasPrefix(err.Error(), "testdata/no-such.toml: open ") {
		t.Fatalf("%v", err)
	}
}

func TestCredentialFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ali.credentials")
	os.WriteFile(path, []byte("id = \"LTAIfile\"\nsecret = \"file-secret-XYZ\"\nreceipt_token = \"tok\"\n"), 0o644)
	src := provider.CredentialSource{File: path}
	if _, _, err := src.Load(nil); err == nil || !strings.Contains(err.Error(), "has mode 0644: readable by others; chmod 600 it") {
		t.Fatalf("world-readable file: %v", err)
	}
	os.Chmod(path, 0o640)
	if _, _, err := src.Load(nil); err == nil {
		t.Fatal("group-readable file accepted")
	}
	os.Chmod(path, 0o600)
	c, token, err := src.Load(nil)
	if err != nil || c.ID != "LTAIfile" || c.Secret.Reveal() != "file-secret-XYZ" || !token.Equal("tok") {
		t.Fatalf("%+v %v", c, err)
	}
	os.WriteFile(path, []byte("id = \"x\"\npassword = \"p\"\n"), 0o600)
	if _, _, err := src.Load(nil); err == nil || !strings.Contains(err.Error(), ":2: password: unknown key") {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestBuildNamesTheProviderWhenCredentialsAreMissing(t *testing.T) {
	c, err := provider.LoadConfig("testdata/full.toml")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = provider.Build(c, provider.BuildOptions{Getenv: func(string) string { return "" }})
	want := "testdata/full.toml:21: [provider.aliyun]: credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or credentials_file"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, name := range []string{"testdata/full.toml", "testdata/simulated.toml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := provider.ParseConfig("fuzz.toml", text)
		if err != nil {
			if _, ok := err.(*provider.ParseError); !ok {
				t.Fatalf("error %T %v is not a *ParseError", err, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if len(c.Providers) == 0 || c.Retry.MaxAttempts < 1 || c.Retry.FirstBackoff > c.Retry.MaxBackoff || c.Breaker.Failures < 1 ||
			c.Breaker.TimeoutWindow < 1 || c.Breaker.TimeoutWindow > provider.MaxBreakerTimeoutWindow || !(c.Breaker.TimeoutRate > 0 && c.Breaker.TimeoutRate <= 1) {
			t.Fatalf("accepted an invalid config %+v", c)
		}
	})
}
