package provider_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
	"github.com/nodeagent/node-agent/testdata/gateway/provider/providertest"
)

func newAliyun(t *testing.T, endpoint, id, secret string, tr http.RoundTripper) *provider.Aliyun {
	t.Helper()
	a, err := provider.NewAliyun(provider.AliyunOptions{Name: "ali", Endpoint: endpoint, Credentials: provider.Credentials{ID: id, Secret: provider.NewSecret(secret)}, Routes: routes, Transport: tr, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAliyunSendSignedAndAccepted(t *testing.T) {
	fake := newAliyunFake(t)
	a := newAliyun(t, fake.URL(), aliyunKeyID, aliyunSecret, nil)
	id, err := a.Send(ctxT(t), verifyMessage("msg-1", "+8613800138000"))
	if err != nil {
		t.Fatal(err)
	}
	sent := fake.Sent()
	if len(sent) != 1 || sent[0].ProviderID != id || sent[0].OutID != "msg-1" || sent[0].Phone != "13800138000" ||
		sent[0].TemplateCode != "SMS_100001" || sent[0].SignName != "Example" || sent[0].Params != `{"code":"4711"}` {
		t.Fatalf("fake saw %+v, send returned %q", sent, id)
	}
	// Many concurrent calls: each has its own nonce and passes.
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			_, err := a.Send(ctxT(t), verifyMessage("c"+string(rune('a'+i)), "+4915112345678"))
			errs <- err
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if fake.Rejected() != 0 {
		t.Fatalf("fake rejected %d calls", fake.Rejected())
	}
}

func TestAliyunSignatureRejections(t *testing.T) {
	fake := newAliyunFake(t)
	ctx := ctxT(t)

	_, err := newAliyun(t, fake.URL(), aliyunKeyID, "wrong-secret", nil).Send(ctx, verifyMessage("m", "+8613800138000"))
	wantCode(t, err, "SignatureDoesNotMatch", provider.Account)
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("error shows the secret: %v", err)
	}

	_, err = newAliyun(t, fake.URL(), "LTAIunknown", aliyunSecret, nil).Send(ctx, verifyMessage("m", "+8613800138000"))
	wantCode(t, err, "InvalidAccessKeyId.NotFound", provider.Account)

	stale := providertest.NewAliyun(t, providertest.AliyunOptions{Keys: map[string]string{aliyunKeyID: aliyunSecret},
		Now: func() time.Time { return time.Now().Add(16 * time.Minute) }})
	_, err = newAliyun(t, stale.URL(), aliyunKeyID, aliyunSecret, nil).Send(ctx, verifyMessage("m", "+8613800138000"))
	wantCode(t, err, "InvalidTimeStamp.Expired", provider.Account)

	// A captured call replayed as is: the nonce was used.
	rec := &recorder{next: http.DefaultTransport}
	if _, err := newAliyun(t, fake.URL(), aliyunKeyID, aliyunSecret, rec).Send(ctx, verifyMessage("m", "+8613800138000")); err != nil {
		t.Fatal(err)
	}
	call := rec.last(t)
	if body := replay(t, call); !bytes.Contains(body, []byte(`"SignatureNonceUsed"`)) {
		t.Fatalf("replayed call answered %s", body)
	}
	// The same call with another phone number and a fresh nonce: the
	// signature no longer matches.
	u, _ := url.Parse(call.url)
	q := u.Query()
	q.Set("PhoneNumbers", "13900000000")
	q.Set("SignatureNonce", "fresh-nonce-1")
	u.RawQuery = q.Encode()
	call.url = u.String()
	if body := replay(t, call); !bytes.Contains(body, []byte(`"SignatureDoesNotMatch"`)) {
		t.Fatalf("tampered call answered %s", body)
	}
	if got := len(fake.Sent()); got != 1 {
		t.Fatalf("fake accepted %d messages, want only the one authentic call", got)
	}
	if fake.Rejected() != 4 {
		t.Fatalf("fake rejected %d calls, want 4", fake.Rejected())
	}
}

func TestAliyunErrorClasses(t *testing.T) {
	fake := newAliyunFake(t)
	a := newAliyun(t, fake.URL(), aliyunKeyID, aliyunSecret, nil)
	ctx := ctxT(t)

	fake.SetIllegal("13800000000")
	_, err := a.Send(ctx, verifyMessage("m", "+8613800000000"))
	wantCode(t, err, "isv.MOBILE_NUMBER_ILLEGAL", provider.Permanent)
	if provider.IsRetryable(err) {
		t.Fatal("an illegal number is retryable")
	}

	fake.SetMode(providertest.Fail)
	_, err = a.Send(ctx, verifyMessage("m", "+8613800138000"))
	wantCode(t, err, "ServiceUnavailable", provider.Temporary)

	fake.SetMode(providertest.Throttle)
	_, err = a.Send(ctx, verifyMessage("m", "+8613800138000"))
	wantCode(t, err, "Throttling.User", provider.Temporary)

	fake.SetMode(providertest.Hang)
	start := time.Now()
	short, cancel := contextWithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = a.Send(short, verifyMessage("m", "+8613800138000"))
	wantCode(t, err, "Timeout", provider.Temporary)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a hung call returned after %v, past its 200ms context", d)
	}

	_, err = a.Send(ctx, provider.Message{ID: "m", Phone: "+8613800138000", Content: "free text"})
	wantCode(t, err, "TemplateRequired", provider.Permanent)
}

func TestAliyunClassTable(t *testing.T) {
	for _, c := range []struct {
		code   string
		status int
		want   provider.Class
	}{
		{"isv.BUSINESS_LIMIT_CONTROL", 200, provider.Throttled},
		{"isv.DAY_LIMIT_CONTROL", 200, provider.Throttled},
		{"isv.AMOUNT_NOT_ENOUGH", 200, provider.Account},
		{"isv.SMS_TEMPLATE_ILLEGAL", 200, provider.Account},
		{"isp.SYSTEM_ERROR", 200, provider.Temporary},
		{"Throttling.Api", 400, provider.Temporary},
		{"", 502, provider.Temporary},
		{"isv.SOMETHING_NEW", 200, provider.Permanent},
	} {
		if got := provider.AliyunClass(c.code, c.status); got != c.want {
			t.Errorf("AliyunClass(%q, %d) = %s, want %s", c.code, c.status, got, c.want)
		}
	}
}
