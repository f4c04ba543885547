package sms

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func outcomes(p *StubProvider, n int) []bool {
	var out []bool
	for range n {
		out = append(out, p.Send(context.Background(), Message{ID: NewID()}) == nil)
	}
	return out
}

func TestStubProviderSeeded(t *testing.T) {
	a := outcomes(NewStubProvider(0, 0.5, 42, nil), 64)
	b := outcomes(NewStubProvider(0, 0.5, 42, nil), 64)
	if !slices.Equal(a, b) {
		t.Fatal("same seed, different outcomes")
	}
	if !slices.Contains(a, true) || !slices.Contains(a, false) {
		t.Fatalf("rate 0.5 over 64 calls gave %v", a)
	}
	if slices.Contains(outcomes(NewStubProvider(0, 0, 1, nil), 64), false) {
		t.Error("rate 0 failed")
	}
	if slices.Contains(outcomes(NewStubProvider(0, 1, 1, nil), 64), true) {
		t.Error("rate 1 succeeded")
	}
	err := NewStubProvider(0, 1, 1, nil).Send(context.Background(), Message{})
	if !errors.Is(err, ErrProviderUnavailable) {
		t.Errorf("failure = %v", err)
	}
}

// TestStubProviderDedupes: an id sent once is acknowledged again without a
// second SMS, as a provider does with an out id; failures do not count.
func TestStubProviderDedupes(t *testing.T) {
	p := NewStubProvider(0, 0.5, 7, nil)
	m := Message{ID: NewID()}
	for p.Send(context.Background(), m) != nil {
	}
	for range 20 {
		if err := p.Send(context.Background(), m); err != nil {
			t.Fatalf("repeat of a sent id: %v", err)
		}
	}
	if p.Sends() != 1 {
		t.Fatalf("%d SMS for one id", p.Sends())
	}
	if !IsPermanent(Permanent(ErrProviderUnavailable)) || IsPermanent(ErrProviderUnavailable) || Permanent(nil) != nil {
		t.Fatal("Permanent/IsPermanent")
	}
}

func TestStubProviderLatency(t *testing.T) {
	rec := new(sleepRecorder)
	p := NewStubProvider(20*time.Millisecond, 0, 1, rec.Sleep)
	if err := p.Send(context.Background(), Message{}); err != nil {
		t.Fatal(err)
	}
	if got := rec.Waited(); !slices.Equal(got, []time.Duration{20 * time.Millisecond}) {
		t.Fatalf("waited %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Send(ctx, Message{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled send = %v", err)
	}
	// The real Sleep honours cancellation too.
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep = %v", err)
	}
	if err := Sleep(context.Background(), time.Microsecond); err != nil {
		t.Fatalf("Sleep = %v", err)
	}
}
