package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"
)

// keepAliveLoad is n clients, each with one keep-alive connection sending
// GET /healthz back to back; after "Connection: close" or a failure a client
// opens a new connection. Unlike http.Transport it never retries, so every
// lost request is counted.
type keepAliveLoad struct {
	stop    chan struct{}
	stopped sync.Once
	wg      sync.WaitGroup

	mu       sync.Mutex
	failures []error
	answers  map[string]int // per worker pid
}

func startKeepAliveLoad(addr string, n int) *keepAliveLoad {
	l := &keepAliveLoad{stop: make(chan struct{}), answers: map[string]int{}}
	for range n {
		l.wg.Add(1)
		go l.client(addr)
	}
	return l
}

func (l *keepAliveLoad) client(addr string) {
	defer l.wg.Done()
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			l.record("", err)
			continue
		}
		br := bufio.NewReader(c)
		for closed := false; !closed; {
			select {
			case <-l.stop:
				c.Close()
				return
			default:
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			resp, err := func() (*http.Response, error) {
				if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: e2e\r\n\r\n"); err != nil {
					return nil, err
				}
				resp, err := http.ReadResponse(br, nil)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
				return resp, err
			}()
			if err != nil {
				l.record("", err)
				break
			}
			l.record(resp.Header.Get("X-Worker-Pid"), nil)
			closed = resp.Close
			time.Sleep(time.Millisecond) // about 1000 requests/s per client at most
		}
		c.Close()
	}
}

func (l *keepAliveLoad) record(pid string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failures = append(l.failures, err)
		return
	}
	l.answers[pid]++
}

// count returns how many answers came from pids for which in reports true.
func (l *keepAliveLoad) count(in func(pid string) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for p, c := range l.answers {
		if in(p) {
			n += c
		}
	}
	return n
}

// finish stops the clients and returns the failures.
func (l *keepAliveLoad) finish() []error {
	l.stopped.Do(func() { close(l.stop) })
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failures
}

// TestGatewayReloadUnderKeepAliveLoad: a rolling reload (SIGHUP) of the
// gateway under the built agent while keep-alive clients send without
// pause: every worker is replaced and no request fails. The old workers
// drain with container.ServeHTTP: their clients' next requests are
// answered with "Connection: close", and the new connections go to the
// new workers through the agent's shared socket.
func TestGatewayReloadUnderKeepAliveLoad(t *testing.T) {
	reloadUnderKeepAliveLoad(t, "the reload", nil, func(a *agentProcess) {
		a.cmd.Process.Signal(syscall.SIGHUP)
	})
}

// reloadUnderKeepAliveLoad starts the gateway ×2 with --http-address on a
// free port (and extra options), runs 8 keep-alive clients, calls reload
// once they reach the old workers, and fails the test unless the agent logs
// the reload, every old worker exits, the load reaches the new workers and
// no request failed. what names the reload in the failure.
func reloadUnderKeepAliveLoad(t *testing.T, what string, extra []string, reload func(*agentProcess)) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	a := startGateway(t, addr, append([]string{"-i", "2", "--http-address", addr}, extra...)...)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	old := pidsAnswering(t, c, addr, 2)

	load := startKeepAliveLoad(addr, 8)
	defer load.finish()
	isOld := func(p string) bool { return old[p] }
	isNew := func(p string) bool { return !old[p] }
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		if !poll(60*time.Second, cond) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
	waitFor("the load to reach the old workers", func() bool { return load.count(isOld) >= 200 })

	reload(a)
	a.waitOutput(t, `reloaded 2 workers`, 60*time.Second)
	for p := range old {
		var pid int
		fmt.Sscan(p, &pid)
		waitFor("old worker "+p+" to exit", func() bool { return syscall.Kill(pid, 0) == syscall.ESRCH })
	}
	base := load.count(isNew)
	waitFor("the load to reach the new workers", func() bool { return load.count(isNew) >= base+200 })

	failures := load.finish()
	if len(failures) > 0 {
		t.Fatalf("%d requests failed during %s, first: %v", len(failures), what, failures[0])
	}
	t.Logf("%d answers from the old workers, %d from the new ones, none failed", load.count(isOld), load.count(isNew))
}
