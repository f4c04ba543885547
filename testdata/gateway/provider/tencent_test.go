package provider_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
	"github.com/nodeagent/node-agent/testdata/gateway/provider/providertest"
)

func newTencent(t *testing.T, endpoint, id, secret string, tr http.RoundTripper) *provider.Tencent {
	t.Helper()
	p, err := provider.NewTencent(provider.TencentOptions{Name: "tc", Endpoint: endpoint, SDKAppID: tencentAppID, Credentials: provider.Credentials{ID: id, Secret: provider.NewSecret(secret)}, Routes: routes, Transport: tr, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTencentSendSignedAndAccepted(t *testing.T) {
	fake := newTencentFake(t)
	p := newTencent(t, fake.URL(), tencentID, tencentSecret, nil)
	id, err := p.Send(ctxT(t), provider.Message{ID: "msg-1", Phone: "+8613800138000", Template: "verify_code",
		Params: []provider.Param{{Name: "code", Value: "4711"}, {Name: "minutes", Value: "10"}}})
	if err != nil {
		t.Fatal(err)
	}
	sent := fake.Sent()
	if len(sent) != 1 || sent[0].ProviderID != id || sent[0].OutID != "msg-1" || sent[0].Phone != "+8613800138000" ||
		sent[0].TemplateCode != "SMS_100001" || sent[0].Params != "4711,10" {
		t.Fatalf("fake saw %+v, send returned %q", sent, id)
	}
}

func TestTencentSignatureRejections(t *testing.T) {
	fake := newTencentFake(t)
	ctx := ctxT(t)

	_, err := newTencent(t, fake.URL(), tencentID, "wrong-secret", nil).Send(ctx, verifyMessage("m", "+8613800138000"))
	wantCode(t, err, "AuthFailure.SignatureFailure", provider.Account)
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("error shows the secret: %v", err)
	}

	_, err = newTencent(t, fake.URL(), "AKIDunknown", tencentSecret, nil).Send(ctx, verifyMessage("m", "+8613800138000"))
	wantCode(t, err, "AuthFailure.SecretIdNotFound", provider.Account)

	stale := providertest.NewTencent(t, providertest.TencentOptions{Keys: map[string]string{tencentID: tencentSecret}, SDKAppID: tencentAppID,
		Now: func() time.Time { return time.Now().Add(6 * time.Minute) }})
	_, err = newTencent(t, stale.URL(), tencentID, tencentSecret, nil).Send(ctx, verifyMessage("m", "+8613800138000"))
	wantCode(t, err, "AuthFailure.SignatureExpire", provider.Account)

	// A captured call with its body changed (another number) keeps its
	// Authorization: the payload hash no longer matches.
	rec := &recorder{next: http.DefaultTransport}
	if _, err := newTencent(t, fake.URL(), tencentID, tencentSecret, rec).Send(ctx, verifyMessage("m", "+8613800138000")); err != nil {
		t.Fatal(err)
	}
	call := rec.last(t)
	call.body = bytes.Replace(call.body, []byte("+8613800138000"), []byte("+8613900000000"), 1)
	if body := replay(t, call); !bytes.Contains(body, []byte(`"AuthFailure.SignatureFailure"`)) {
		t.Fatalf("tampered call answered %s", body)
	}
	if got := len(fake.Sent()); got != 1 {
		t.Fatalf("fake accepted %d messages, want only the authentic one", got)
	}
	if fake.Rejected() != 3 {
		t.Fatalf("fake rejected %d calls, want 3", fake.Rejected())
	}
}

func TestTencentErrorClasses(t *testing.T) {
	fake := newTencentFake(t)
	p := newTencent(t, fake.URL(), tencentID, tencentSecret, nil)
	ctx := ctxT(t)

	fake.SetIllegal("+8613800000000")
	_, err := p.Send(ctx, verifyMessage("m", "+8613800000000"))
	wantCode(t, err, "InvalidParameterValue.IncorrectPhoneNumber", provider.Permanent)

	fake.SetMode(providertest.Fail)
	_, err = p.Send(ctx, verifyMessage("m", "+8613800138000"))
	wantCode(t, err, "ClientError.ParseJsonError", provider.Temporary) // the SDK reads the 503 page as JSON first

	fake.SetMode(providertest.Throttle)
	_, err = p.Send(ctx, verifyMessage("m", "+8613800138000"))
	wantCode(t, err, "RequestLimitExceeded", provider.Temporary)

	fake.SetMode(providertest.Hang)
	short, cancel := contextWithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = p.Send(short, verifyMessage("m", "+8613800138000"))
	wantCode(t, err, "Timeout", provider.Temporary)
}

func TestTencentClassTable(t *testing.T) {
	for code, want := range map[string]provider.Class{
		"LimitExceeded.PhoneNumberDailyLimit":                provider.Throttled,
		"LimitExceeded.PhoneNumberThirtySecondLimit":         provider.Throttled,
		"FailedOperation.InsufficientBalanceInSmsPackage":    provider.Account,
		"InvalidParameterValue.SdkAppIdNotExist":             provider.Account,
		"FailedOperation.PhoneNumberInBlacklist":             provider.Permanent,
		"InvalidParameterValue.TemplateParameterFormatError": provider.Permanent,
		"InternalError.Timeout":                              provider.Temporary,
		"SomethingNew":                                       provider.Temporary,
	} {
		if got := provider.TencentClass(code); got != want {
			t.Errorf("TencentClass(%q) = %s, want %s", code, got, want)
		}
	}
}
