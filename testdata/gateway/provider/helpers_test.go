package provider_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
	"github.com/nodeagent/node-agent/testdata/gateway/provider/providertest"
)

const (
	aliyunKeyID   = "LTAI5tTestKeyId0001"
	aliyunSecret  = "aliyun-secret-value-XYZ"
	tencentID     = "AKIDtestSecretId0001"
	tencentSecret = "tencent-secret-value-XYZ"
	tencentAppID  = "1400000001"
)

var routes = map[string]provider.Route{"verify_code": {TemplateCode: "SMS_100001", SignName: "Example"}}

func verifyMessage(id, phone string) provider.Message {
	return provider.Message{ID: id, Phone: phone, Template: "verify_code", Params: []provider.Param{{Name: "code", Value: "4711"}}}
}

func newAliyunFake(t *testing.T) *providertest.Aliyun {
	return providertest.NewAliyun(t, providertest.AliyunOptions{Keys: map[string]string{aliyunKeyID: aliyunSecret}})
}

func newTencentFake(t *testing.T) *providertest.Tencent {
	return providertest.NewTencent(t, providertest.TencentOptions{Keys: map[string]string{tencentID: tencentSecret}, SDKAppID: tencentAppID})
}

// recorder is a transport that keeps a copy of every request it sends, so
// a test can replay or tamper with one.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
	next http.RoundTripper
}

type recorded struct {
	method, url string
	header      http.Header
	body        []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.String(), req.Header.Clone(), body})
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *recorder) last(t *testing.T) recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("no request recorded")
	}
	return r.reqs[len(r.reqs)-1]
}

// replay sends rec again (host, method, headers, body as recorded).
func replay(t *testing.T, rec recorded) []byte {
	t.Helper()
	req, err := http.NewRequest(rec.method, rec.url, bytes.NewReader(rec.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = rec.header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

func wantCode(t *testing.T, err error, code string, class provider.Class) {
	t.Helper()
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T), want *provider.Error %s", err, err, code)
	}
	if pe.Code != code || pe.Class != class {
		t.Fatalf("error %v: want code %s class %s", err, code, class)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond every 10 ms until it holds or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func contextWithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}
