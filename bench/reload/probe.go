package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/nodeagent/node-agent/bench/internal/benchkit"
)

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// probe sends GET /healthz on a new connection and returns the answering
// worker's pid (X-Worker-Pid).
func probe(port int) (int, error) {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	return strconv.Atoi(resp.Header.Get("X-Worker-Pid"))
}

// waitServing probes until n distinct worker pids have answered, and
// returns them.
func waitServing(ctx context.Context, port, n int, limit time.Duration) ([]int, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	seen := map[int]bool{}
	var lastErr error
	for len(seen) < n {
		pid, err := probe(port)
		if err != nil {
			lastErr = err
		} else {
			seen[pid] = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%d of %d workers answered (last error: %v): %w", len(seen), n, lastErr, ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
	out := make([]int, 0, n)
	for p := range seen {
		out = append(out, p)
	}
	return out, nil
}

// waitGone polls until none of pids runs any more.
func waitGone(ctx context.Context, pids []int, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		left := 0
		for _, p := range pids {
			if benchkit.Alive(p) {
				left++
			}
		}
		if left == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d old workers still running: %w", left, len(pids), ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
