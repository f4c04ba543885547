package monitor

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestServerPauseKeepsTheSocket: a paused metrics server answers the
// scrape in progress, keeps its socket (a client connecting meanwhile
// waits, then is answered by a server on the handed-over socket), and a
// keep-alive client carries on across the pause without an error.
func TestServerPauseKeepsTheSocket(t *testing.T) {
	slow := make(chan struct{})
	entered := make(chan struct{}, 1)
	src := func(ctx context.Context) (Snapshot, error) {
		select {
		case entered <- struct{}{}:
			<-slow
		default:
		}
		return Snapshot{}, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := ServeMetrics(ln, MetricsOptions{Source: src, Aggregator: NewAggregator()})
	defer srv.Close(context.Background())
	url := "http://" + srv.Addr().String() + "/metrics"
	client := &http.Client{Timeout: 10 * time.Second}
	get := func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	inFlight := make(chan error, 1)
	go func() { inFlight <- get() }()
	<-entered
	paused := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := srv.Pause(ctx)
		paused <- err
	}()
	select {
	case err := <-paused:
		t.Fatalf("Pause returned (%v) with a scrape in progress", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(slow)
	if err := <-inFlight; err != nil {
		t.Fatalf("the scrape in progress at the pause: %v", err)
	}
	if err := <-paused; err != nil {
		t.Fatal(err)
	}
	// While paused: the keep-alive client's next scrape waits in the
	// backlog (its idle connection was closed: it dials again).
	during := make(chan error, 1)
	go func() { during <- get() }()
	select {
	case err := <-during:
		t.Fatalf("a scrape was answered while paused: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := <-during; err != nil {
		t.Fatalf("the scrape made during the pause: %v", err)
	}
	if err := get(); err != nil {
		t.Fatalf("after Resume: %v", err)
	}
}
