package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
	"github.com/nodeagent/node-agent/testdata/gateway/provider/providertest"
	"github.com/nodeagent/node-agent/testdata/gateway/sms"
)

const (
	e2eAliyunID, e2eAliyunSecret   = "LTAIe2e", "aliyun-e2e-secret"
	e2eTencentID, e2eTencentSecret = "AKIDe2e", "tencent-e2e-secret"
	e2eAppID                       = "1400000042"
	e2eAliToken, e2eTcToken        = "ali-receipt-token-e2e", "tc-receipt-token-e2e"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gateway.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunRefusesABadConfigFile(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"[retry]\n\nmax_attempts = 0\n", ":3: retry.max_attempts: want a positive integer\n"},
		{"[provider.a]\ntype = \"aliyun\"\n", ":1: [provider.a]: credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or credentials_file\n"},
		{"[template.welcome]\n", ":1: [template.welcome]: the gateway has no such template\n"},
		{"[template.verify_code]\nparams = [\"pin\"]\n", ":1: template.verify_code.params: want the template's parameters [\"code\"] in the provider's order\n"},
	} {
		path := writeConfig(t, c.text)
		var stderr strings.Builder
		if code := run([]string{"-config", path}, &stderr); code != 2 || stderr.String() != "gateway: "+path+c.want {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", c.text, code, stderr.String(), "gateway: "+path+c.want)
		}
	}
	t.Setenv(provider.EnvConfig, "/no/such/file.toml")
	var stderr strings.Builder
	if code := run(nil, &stderr); code != 2 || !strings.HasPrefix(stderr.String(), "gateway: /no/such/file.toml: open ") {
		t.Fatalf("missing %s file: exit %d, %q", provider.EnvConfig, code, stderr.String())
	}
}

func TestTemplateMatcherRecoversParams(t *testing.T) {
	for name, tmpl := range sms.BuiltinTemplates() {
		params := map[string]string{}
		for i, p := range tmpl.Params() {
			params[p] = fmt.Sprintf("v%d {x} and. %s", i, name)
		}
		got, ok := newTemplateMatcher(tmpl).params(tmpl.Render(params))
		if !ok || fmt.Sprint(got) != fmt.Sprint(params) {
			t.Errorf("%s: recovered %v %v, want %v", name, got, ok, params)
		}
		if _, ok := newTemplateMatcher(tmpl).params("something else"); ok {
			t.Errorf("%s: matched a foreign text", name)
		}
	}
}

// TestGatewayWithProviderFakes runs the gateway binary with a config file
// naming the Aliyun fake as primary and the Tencent fake as secondary.
func TestGatewayWithProviderFakes(t *testing.T) {
	bin := buildGateway(t)
	fa := providertest.NewAliyun(t, providertest.AliyunOptions{Keys: map[string]string{e2eAliyunID: e2eAliyunSecret}})
	fb := providertest.NewTencent(t, providertest.TencentOptions{Keys: map[string]string{e2eTencentID: e2eTencentSecret}, SDKAppID: e2eAppID})
	path := writeConfig(t, fmt.Sprintf(`providers = ["ali", "tc"]
[retry]
max_attempts = 3
first_backoff = "100ms"
max_backoff = "1s"
attempt_timeout = "2s"
[breaker]
failures = 2
cool_down = "30s"
[provider.ali]
type = "aliyun"
endpoint = %q
receipt_token_env = "E2E_ALI_RECEIPT_TOKEN"
[provider.tc]
type = "tencent"
endpoint = %q
sdk_app_id = %q
receipt_token_env = "E2E_TC_RECEIPT_TOKEN"
[template.verify_code]
params = ["code"]
[template.verify_code.ali]
template_code = "SMS_1"
sign_name = "Example"
[template.verify_code.tc]
template_code = "101"
sign_name = "Example"
`, fa.URL(), fb.URL(), e2eAppID))
	p := start(t, bin, provider.EnvConfig+"="+path,
		"ALIBABA_CLOUD_ACCESS_KEY_ID="+e2eAliyunID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+e2eAliyunSecret,
		"TENCENTCLOUD_SECRET_ID="+e2eTencentID, "TENCENTCLOUD_SECRET_KEY="+e2eTencentSecret,
		"E2E_ALI_RECEIPT_TOKEN="+e2eAliToken, "E2E_TC_RECEIPT_TOKEN="+e2eTcToken)
	aliReceipts := p.url + "/api/sms/receipts/ali?token=" + e2eAliToken
	tcReceipts := p.url + "/api/sms/receipts/tc?token=" + e2eTcToken
	fa.PushReceiptsTo(aliReceipts, 50*time.Millisecond)
	fb.PushReceiptsTo(tcReceipts, 50*time.Millisecond)
	fb.SetUndelivered("+8613800138002")

	send := func(phone string) string {
		var r sms.SendReply
		body := fmt.Sprintf(`{"phone":%q,"template":"verify_code","params":{"code":"4711"}}`, phone)
		if resp := call(t, "POST", p.url+"/api/sms/send", body, &r); resp.StatusCode != 202 {
			t.Fatalf("send to %s: %d", phone, resp.StatusCode)
		}
		return r.ID
	}

	id := send("+8613800138001")
	viaAliyun := id
	waitStatus(t, p.url, id, sms.StatusDelivered)
	if s := fa.Sent(); len(s) != 1 || s[0].OutID != id || s[0].Phone != "13800138001" || s[0].Params != `{"code":"4711"}` || s[0].TemplateCode != "SMS_1" {
		t.Fatalf("aliyun fake saw %+v", s)
	}

	fa.SetMode(providertest.Fail) // primary down: the next message goes out through the secondary
	id = send("+8613800138002")
	viaTencent := id
	waitStatus(t, p.url, id, sms.StatusUndelivered)
	if s := fb.Sent(); len(s) != 1 || s[0].OutID != id || s[0].Phone != "+8613800138002" || s[0].Params != "4711" {
		t.Fatalf("tencent fake saw %+v", s)
	}

	fa.SetMode(providertest.Normal)
	fb.SetIllegal("+8613800000000")
	fa.SetIllegal("13800000000")
	id = send("+8613800000000")
	waitStatus(t, p.url, id, sms.StatusFailed)
	var m sms.Message
	call(t, "GET", p.url+"/api/sms/"+id, "", &m)
	if m.Attempts != 1 || !strings.Contains(m.LastError, "isv.MOBILE_NUMBER_ILLEGAL") {
		t.Fatalf("illegal number: %+v, want failed after 1 attempt with the provider's code", m)
	}

	// Receipts: the records carry the providers' codes; replayed and forged
	// pushes change nothing.
	var a, b sms.Message
	call(t, "GET", p.url+"/api/sms/"+viaAliyun, "", &a)
	call(t, "GET", p.url+"/api/sms/"+viaTencent, "", &b)
	if a.Delivery == nil || a.Delivery.Code != "DELIVERED" || a.Delivery.Provider != "ali" || b.Delivery == nil || b.Delivery.Code != "MK:0001" || b.Delivery.Provider != "tc" {
		t.Fatalf("delivery reports: %+v / %+v", a.Delivery, b.Delivery)
	}
	ctx := context.Background()
	now := time.Now()
	for _, s := range fa.Sent() {
		if st, err := providertest.PushReceipt(ctx, aliReceipts, providertest.AliyunReport(s, false, now)); err != nil || st != 200 {
			t.Fatalf("replayed receipt: %d %v", st, err)
		}
		for _, forged := range []string{p.url + "/api/sms/receipts/ali", p.url + "/api/sms/receipts/ali?token=guess", p.url + "/api/sms/receipts/tc?token=" + e2eAliToken} {
			if st, err := providertest.PushReceipt(ctx, forged, providertest.AliyunReport(s, false, now)); err != nil || st != 401 {
				t.Fatalf("forged receipt to %s: %d %v", forged, st, err)
			}
		}
	}
	for _, s := range fb.Sent() {
		if st, _ := providertest.PushReceipt(ctx, tcReceipts, providertest.TencentReport(s, true, now)); st != 200 {
			t.Fatalf("replayed tencent receipt: %d", st)
		}
	}
	var a2, b2 sms.Message
	call(t, "GET", p.url+"/api/sms/"+viaAliyun, "", &a2)
	call(t, "GET", p.url+"/api/sms/"+viaTencent, "", &b2)
	if a2.Status != sms.StatusDelivered || b2.Status != sms.StatusUndelivered || *a2.Delivery != *a.Delivery || *b2.Delivery != *b.Delivery {
		t.Fatalf("replayed or forged receipts changed the records: %+v %+v", a2, b2)
	}

	out := p.output()
	if !strings.Contains(out, "providers: ali(aliyun) → tc(tencent)") {
		t.Fatalf("no provider line in the log:\n%s", out)
	}
	for _, secret := range []string{e2eAliyunSecret, e2eTencentSecret, e2eAliToken, e2eTcToken} {
		if strings.Contains(out, secret) {
			t.Fatal("a secret reached the log")
		}
	}
}

func TestGatewayDefaultsToTheSimulatedProvider(t *testing.T) {
	p := start(t, buildGateway(t))
	if out := p.output(); !strings.Contains(out, "providers: simulated (in-process; no -config file)") {
		t.Fatalf("start log does not name the simulated provider:\n%s", out)
	}
}
