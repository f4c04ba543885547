package provider_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
	"github.com/nodeagent/node-agent/testdata/gateway/provider/providertest"
)

const (
	aliToken = "receipt-token-aliyun-0123456789"
	tcToken  = "receipt-token-tencent-0123456789"
)

type receiptRig struct {
	sink    *providertest.MemorySink
	handler *provider.ReceiptHandler
	srv     *httptest.Server
}

func newReceiptRig(t *testing.T) receiptRig {
	sink := providertest.NewMemorySink()
	h := provider.NewReceiptHandler(map[string]provider.ReceiptEndpoint{
		"ali": {Kind: provider.KindAliyun, Token: provider.NewSecret(aliToken)},
		"tc":  {Kind: provider.KindTencent, Token: provider.NewSecret(tcToken)},
		"off": {Kind: provider.KindAliyun}, // no token: receipts refused
	}, sink, nil)
	mux := http.NewServeMux()
	mux.Handle(provider.ReceiptPattern, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return receiptRig{sink, h, srv}
}

func (r receiptRig) url(name, token string) string {
	u := r.srv.URL + "/api/sms/receipts/" + name
	if token != "" {
		u += "?token=" + token
	}
	return u
}

func push(t *testing.T, url string, body []byte) int {
	t.Helper()
	status, err := providertest.PushReceipt(context.Background(), url, body)
	if err != nil {
		t.Fatal(err)
	}
	return status
}

// TestReceiptsDeliveredReplayedForged: the fakes push receipts after
// delivery and the records reach delivered (or undelivered); replayed,
// contradicting and forged receipts change nothing.
func TestReceiptsDeliveredReplayedForged(t *testing.T) {
	rig := newReceiptRig(t)
	fa, fb := newAliyunFake(t), newTencentFake(t)
	fa.PushReceiptsTo(rig.url("ali", aliToken), 300*time.Millisecond)
	fb.PushReceiptsTo(rig.url("tc", tcToken), 300*time.Millisecond)
	fb.SetUndelivered("+8613800000009")
	pa := newAliyun(t, fa.URL(), aliyunKeyID, aliyunSecret, nil)
	pb := newTencent(t, fb.URL(), tencentID, tencentSecret, nil)

	for i := range 10 {
		p := provider.Provider(pa)
		if i%2 == 1 {
			p = pb
		}
		id := fmt.Sprintf("msg-%d", i)
		pid, err := p.Send(ctxT(t), verifyMessage(id, fmt.Sprintf("+861380000000%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		rig.sink.Sent(id, provider.Result{Provider: p.Name(), ProviderID: pid})
	}
	eventually(t, 5*time.Second, "10 receipts", func() bool {
		return rig.sink.Count(providertest.StatusDelivered)+rig.sink.Count(providertest.StatusUndelivered) == 10
	})
	if d, u := rig.sink.Count(providertest.StatusDelivered), rig.sink.Count(providertest.StatusUndelivered); d != 9 || u != 1 {
		t.Fatalf("%d delivered, %d undelivered; want 9 and 1", d, u)
	}
	if rec, _ := rig.sink.Get("msg-9"); rec.Status != providertest.StatusUndelivered || rec.Code != "MK:0001" {
		t.Fatalf("msg-9 %+v: want undelivered with the provider's code", rec)
	}
	before := snapshot(rig.sink)

	// Replayed: every push again, authentic. Acknowledged, nothing changes.
	now := time.Now()
	for _, s := range fa.Sent() {
		if st := push(t, rig.url("ali", aliToken), providertest.AliyunReport(s, true, now)); st != http.StatusOK {
			t.Fatalf("replayed aliyun receipt: %d", st)
		}
	}
	for _, s := range fb.Sent() {
		if st := push(t, rig.url("tc", tcToken), providertest.TencentReport(s, false, now)); st != http.StatusOK {
			t.Fatalf("contradicting tencent receipt: %d", st)
		}
	}
	// Forged: no token, a wrong one, another provider's, a provider with no
	// token configured, an unknown provider.
	s := fa.Sent()[0]
	forged := providertest.AliyunReport(s, false, now)
	for _, u := range []string{rig.url("ali", ""), rig.url("ali", "guess"), rig.url("ali", tcToken), rig.url("off", ""), rig.url("off", "x"), rig.url("nope", aliToken)} {
		if st := push(t, u, forged); st != http.StatusUnauthorized {
			t.Fatalf("forged push to %s answered %d, want 401", u, st)
		}
	}
	if after := snapshot(rig.sink); after != before {
		t.Fatalf("records changed:\n before %s\n after  %s", before, after)
	}
	st := rig.handler.Stats()
	if st.Applied != 10 || st.Duplicate != 10 || st.Unauthorized != 6 || st.Unknown != 0 {
		t.Fatalf("handler stats %+v: want 10 applied, 10 duplicate, 6 unauthorized", st)
	}
}

func snapshot(s *providertest.MemorySink) string {
	out := ""
	for i := range 10 {
		r, _ := s.Get(fmt.Sprintf("msg-%d", i))
		out += fmt.Sprintf("%s:%s:%s:%d ", r.ID, r.Status, r.Code, r.Updates)
	}
	return out
}

func TestReceiptsUnknownMalformedAndResponses(t *testing.T) {
	rig := newReceiptRig(t)
	unknown := providertest.AliyunReport(providertest.Sent{Phone: "13800000000", OutID: "nope", ProviderID: "123^0", At: time.Now()}, true, time.Now())
	resp, err := http.Post(rig.url("ali", aliToken), "application/json", bytes.NewReader(unknown))
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || body.String() != "{\"code\":0,\"msg\":\"成功\"}\n" {
		t.Fatalf("unknown receipt answered %d %q, want Aliyun's acknowledgement", resp.StatusCode, body.String())
	}
	if rig.handler.Stats().Unknown != 1 || rig.sink.Unknown() != 1 {
		t.Fatal("unknown receipt not counted")
	}
	for _, b := range []string{`{}`, `[{"sid":""}]`, `not json`, `[{"biz_id":"1","success":true,"report_time":"yesterday"}]`} {
		if st := push(t, rig.url("ali", aliToken), []byte(b)); st != http.StatusBadRequest {
			t.Fatalf("malformed %s answered %d, want 400", b, st)
		}
	}
	if st := push(t, rig.url("tc", tcToken), []byte(`[{"sid":"x","report_status":"MAYBE"}]`)); st != http.StatusBadRequest {
		t.Fatalf("bad tencent status answered %d", st)
	}
	if st := push(t, rig.url("ali", aliToken), bytes.Repeat([]byte(" "), provider.MaxReceiptBody+1)); st != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized push answered %d", st)
	}
}

func TestParseReceipts(t *testing.T) {
	rs, err := provider.ParseReceipts(provider.KindTencent, "tc", []byte(`[{"user_receive_time":"2015-10-17 08:03:04","nationcode":"86","mobile":"13800000000","report_status":"SUCCESS","errmsg":"DELIVRD","description":"ok","sid":"5000:1"}]`))
	if err != nil {
		t.Fatal(err)
	}
	want := provider.Receipt{Provider: "tc", ProviderID: "5000:1", Phone: "+8613800000000", Delivered: true, Code: "DELIVRD", Description: "ok", At: time.Date(2015, 10, 17, 0, 3, 4, 0, time.UTC)}
	if len(rs) != 1 || rs[0] != want {
		t.Fatalf("got %+v\nwant %+v", rs, want)
	}
	rs, err = provider.ParseReceipts(provider.KindAliyun, "ali", []byte(`[{"phone_number":"13800000000","send_time":"2017-01-01 00:00:00","report_time":"2017-01-01 00:00:05","success":false,"err_code":"MK:0001","err_msg":"x","sms_size":"1","biz_id":"12345^0","out_id":"msg-1"}]`))
	if err != nil || len(rs) != 1 || rs[0].MessageID != "msg-1" || rs[0].Delivered || rs[0].At != time.Date(2016, 12, 31, 16, 0, 5, 0, time.UTC) {
		t.Fatalf("%+v %v", rs, err)
	}
}
