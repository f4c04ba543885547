package control

import (
	"context"
	"errors"
	"testing"
	"time"
)

// gateHandler is an echoHandler whose "wait" command returns when gate
// closes, and whose "detach" command detaches and never returns before
// the server closes.
type gateHandler struct {
	echoHandler
	gate    chan struct{}
	entered chan string
}

func (h *gateHandler) Command(ctx context.Context, cmd string) (string, error) {
	h.entered <- cmd
	switch cmd {
	case "wait":
		<-h.gate
		return "waited", nil
	case "detach":
		Detach(ctx)
		<-ctx.Done()
		return "", ctx.Err()
	}
	return h.echoHandler.Command(ctx, cmd)
}

// TestPauseWaitsForRequestsAndHoldsNewOnes: Pause returns once the
// requests in progress are answered, but not for a detached command or a
// log stream; a client connecting while paused waits and is answered
// after Resume.
func TestPauseWaitsForRequestsAndHoldsNewOnes(t *testing.T) {
	dir := shortDir(t)
	ln, err := Listen(dir, "svc")
	if err != nil {
		t.Fatal(err)
	}
	h := &gateHandler{echoHandler: echoHandler{lines: make(chan string, 8)}, gate: make(chan struct{}), entered: make(chan string, 4)}
	srv := Serve(ln, h)
	defer func() { ln.Close(); srv.Close() }()
	path := ln.Path()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	go Call(ctx, path, Request{Op: OpCommand, Command: "detach"})
	<-h.entered
	follow, stopFollow := context.WithCancel(ctx)
	defer stopFollow()
	streaming := make(chan struct{})
	go Logs(follow, path, Request{Follow: true}, func(string) error {
		select {
		case <-streaming:
		default:
			close(streaming)
		}
		return nil
	})
	<-streaming
	waited := make(chan string, 1)
	go func() {
		text, _ := Call(ctx, path, Request{Op: OpCommand, Command: "wait"})
		waited <- text
	}()
	<-h.entered

	paused := make(chan int, 1)
	go func() { paused <- srv.Pause(ctx) }()
	select {
	case n := <-paused:
		t.Fatalf("Pause returned (%d unanswered) with a request in progress", n)
	case <-time.After(100 * time.Millisecond):
	}
	close(h.gate)
	if n := <-paused; n != 0 || <-waited != "waited" {
		t.Fatalf("Pause: %d unanswered", n)
	}
	later := make(chan error, 1)
	go func() {
		_, err := Call(ctx, path, Request{Op: OpCommand, Command: "later"})
		later <- err
	}()
	select {
	case <-h.entered:
		t.Fatal("a request was accepted while paused")
	case <-time.After(100 * time.Millisecond):
	}
	srv.Resume()
	<-h.entered
	if err := <-later; err != nil {
		t.Fatalf("the request made while paused: %v", err)
	}
	// A bounded pause reports what it did not wait for.
	stuck := make(chan struct{})
	h.gate = stuck
	go Call(ctx, path, Request{Op: OpCommand, Command: "wait"})
	<-h.entered
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if n := srv.Pause(short); n != 1 || !errors.Is(short.Err(), context.DeadlineExceeded) {
		t.Fatalf("a bounded pause: %d unanswered, want 1", n)
	}
	close(stuck)
	srv.Resume()
}
