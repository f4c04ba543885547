package sms

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
	"github.com/nodeagent/node-agent/testdata/gateway/sms/smstest"
)

func TestSQLiteReceipts(t *testing.T) {
	testReceipts(t, "sqlite:"+filepath.Join(t.TempDir(), "sms.db"))
}

func TestRedisReceipts(t *testing.T) {
	testReceipts(t, smstest.StartRedis(t).URL())
}

// testReceipts: a receipt before the message is recorded sent is refused
// (the provider pushes again), then applied once; replays, contradicting
// receipts and unknown provider ids change nothing.
func testReceipts(t *testing.T, spec string) {
	ctx := context.Background()
	st, err := OpenStore(ctx, spec, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rs, ok := st.(ReceiptStore)
	if !ok {
		t.Fatalf("%s is no ReceiptStore", st)
	}
	m := newMessage("+8613800138000")
	if _, err := st.Accept(ctx, acceptReq(m, "")); err != nil {
		t.Fatal(err)
	}
	ls, err := st.Claim(ctx, ClaimRequest{Owner: "w", Max: 1, Lease: time.Minute, GiveUpAfter: 3, Now: time.Now()})
	if err != nil || len(ls) != 1 {
		t.Fatalf("claim: %v %v", ls, err)
	}
	if err := rs.RecordProvider(ctx, m.ID, "ali", "900^0"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 5, 1, 2, 3, 0, time.UTC)
	rc := provider.Receipt{Provider: "ali", MessageID: m.ID, ProviderID: "900^0", Delivered: true, Code: "DELIVERED", At: at}
	if _, err := rs.ApplyReceipt(ctx, rc); !errors.Is(err, errReceiptEarly) {
		t.Fatalf("receipt before sent: %v, want errReceiptEarly", err)
	}
	sent := ls[0].Message
	now := time.Now()
	sent.Status, sent.SentAt, sent.UpdatedAt = StatusSent, &now, now
	if held, err := st.Update(ctx, "w", ls[0], sent); err != nil || !held {
		t.Fatalf("update: %v %v", held, err)
	}
	if out, err := rs.ApplyReceipt(ctx, rc); err != nil || out != provider.Applied {
		t.Fatalf("receipt: %v %v, want applied", out, err)
	}
	want := Delivery{Provider: "ali", ProviderID: "900^0", Code: "DELIVERED", At: at}
	got, err := st.Get(ctx, m.ID)
	if err != nil || got.Status != StatusDelivered || got.Delivery == nil || !got.Delivery.At.Equal(at) || got.Delivery.Code != want.Code || got.Delivery.ProviderID != want.ProviderID || got.Attempts != 1 || got.SentAt == nil {
		t.Fatalf("record %+v %+v %v", got, got.Delivery, err)
	}
	for _, again := range []provider.Receipt{rc, {Provider: "ali", ProviderID: "900^0", Delivered: false, Code: "MK:0001", At: at}} {
		if out, err := rs.ApplyReceipt(ctx, again); err != nil || out != provider.Duplicate {
			t.Fatalf("replay: %v %v, want duplicate", out, err)
		}
	}
	if out, err := rs.ApplyReceipt(ctx, provider.Receipt{Provider: "tc", ProviderID: "900^0", Delivered: true}); err != nil || out != provider.Unknown {
		t.Fatalf("other provider's id: %v %v, want unknown", out, err)
	}
	if after, _ := st.Get(ctx, m.ID); after.Status != StatusDelivered || after.Delivery.Code != "DELIVERED" {
		t.Fatalf("record changed by replays: %+v", after)
	}

	// A receipt that overtakes RecordProvider is matched by its message id
	// (Aliyun's out_id): early while sending, applied once sent.
	m2 := newMessage("+8613800138001")
	if _, err := st.Accept(ctx, acceptReq(m2, "")); err != nil {
		t.Fatal(err)
	}
	ls, err = st.Claim(ctx, ClaimRequest{Owner: "w", Max: 1, Lease: time.Minute, GiveUpAfter: 3, Now: time.Now()})
	if err != nil || len(ls) != 1 {
		t.Fatalf("claim: %v %v", ls, err)
	}
	rc2 := provider.Receipt{Provider: "ali", MessageID: m2.ID, ProviderID: "901^0", Delivered: false, Code: "MK:0001", At: at}
	if _, err := rs.ApplyReceipt(ctx, rc2); !errors.Is(err, errReceiptEarly) {
		t.Fatalf("overtaking receipt while sending: %v, want errReceiptEarly", err)
	}
	sent = ls[0].Message
	sent.Status, sent.SentAt, sent.UpdatedAt = StatusSent, &now, now
	if held, err := st.Update(ctx, "w", ls[0], sent); err != nil || !held {
		t.Fatalf("update: %v %v", held, err)
	}
	if out, err := rs.ApplyReceipt(ctx, rc2); err != nil || out != provider.Applied {
		t.Fatalf("overtaking receipt once sent: %v %v, want applied", out, err)
	}
	if out, err := rs.ApplyReceipt(ctx, rc2); err != nil || out != provider.Duplicate {
		t.Fatalf("its replay: %v %v, want duplicate", out, err)
	}
	if got, _ := st.Get(ctx, m2.ID); got.Status != StatusUndelivered || got.Delivery == nil || got.Delivery.Code != "MK:0001" {
		t.Fatalf("record %+v", got)
	}
	if out, err := rs.ApplyReceipt(ctx, provider.Receipt{Provider: "ali", MessageID: "NOSUCHMESSAGE", ProviderID: "902^0", Delivered: true}); err != nil || out != provider.Unknown {
		t.Fatalf("unknown message id: %v %v", out, err)
	}
}
