package agent

import (
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// listeningFD finds this process's descriptor of the listening socket bound
// to addr: the agent's copy, which shares its open file description (and so
// its O_NONBLOCK flag) with every worker's.
func listeningFD(t *testing.T, addr string) int {
	t.Helper()
	want, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var found int
	ok := poll(10*time.Second, func() bool {
		entries, _ := os.ReadDir("/proc/self/fd")
		for _, e := range entries {
			fd, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if on, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || on != 1 {
				continue
			}
			sa, err := unix.Getsockname(fd)
			if in4, ok := sa.(*unix.SockaddrInet4); err == nil && ok && in4.Port == want.Port {
				found = fd
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("the agent holds no listening socket on %s", addr)
	}
	return found
}

// TestSharedSocketStaysNonBlocking starts many workers on one shared socket
// and watches the socket's flags all along: passing it to a worker must
// never switch it to blocking mode, or another worker's accept blocks in
// the kernel, where its drain cannot interrupt it, and an idle stop ends in
// SIGKILL at the graceful timeout.
func TestSharedSocketStaysNonBlocking(t *testing.T) {
	const n = 64
	cfg := testConfig(n, "serve")
	cfg.HTTPAddress = freeAddr(t)
	cfg.GracefulShutdown = 30 * time.Second
	r := run(t, cfg)
	r.waitLine(`worker \d+ \(pid \d+\) ready`)
	fd := listeningFD(t, cfg.HTTPAddress)

	var samples, blocking atomic.Int64
	stopWatch := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		tick := time.NewTicker(100 * time.Microsecond)
		defer tick.Stop()
		for {
			select {
			case <-stopWatch:
				return
			case <-tick.C:
			}
			flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
			if err != nil {
				continue
			}
			samples.Add(1)
			if flags&unix.O_NONBLOCK == 0 {
				blocking.Add(1)
			}
		}
	}()
	for i := 1; i < n; i++ {
		r.waitLine(`worker \d+ \(pid \d+\) ready`)
	}
	close(stopWatch)
	<-watched
	if blocking.Load() > 0 {
		t.Errorf("the shared socket was in blocking mode in %d of %d samples while %d workers started", blocking.Load(), samples.Load(), n)
	}

	r.signals <- syscall.SIGTERM
	start := time.Now()
	code := r.wait(25 * time.Second)
	took := time.Since(start)
	r.drainLines()
	for _, l := range r.seen {
		if strings.Contains(l, "exceeded the graceful timeout") {
			t.Errorf("an idle worker was killed at the graceful timeout: %s", l)
		}
	}
	if code != ExitClean {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	t.Logf("%d idle workers stopped in %v (graceful timeout %v); %d flag samples", n, took, cfg.GracefulShutdown, samples.Load())
}
