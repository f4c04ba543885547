package agent

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/container"
	"github.com/nodeagent/node-agent/internal/agent/config"
	"github.com/nodeagent/node-agent/internal/testtool"
	"golang.org/x/sys/unix"
)

func init() {
	// serve-then-crash: serves like "serve"; on SIGUSR1 it stops
	// accepting, finishes the requests it took (drain), then exits with
	// code 3, an exit the agent did not ask for. A crash in the middle of
	// a request loses that request whatever the agent does; this one
	// tests what the agent's sockets promise: nothing queued for the
	// crashed worker, nothing arriving while its slot is empty, is lost.
	helpers["serve-then-crash"] = func() int {
		w, err := container.Open()
		if err != nil {
			return 5
		}
		defer w.Close()
		ln, err := w.Listen("tcp", "")
		if err != nil {
			return 6
		}
		crash := make(chan os.Signal, 1)
		signal.Notify(crash, syscall.SIGUSR1)
		done := make(chan struct{})
		crashed := false
		go func() {
			select {
			case <-crash:
				crashed = true
			case <-w.Done():
			}
			close(done)
		}()
		srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(rw, "%d %d", w.WorkerID(), os.Getpid())
		})}
		container.ServeHTTP(srv, ln, done, container.DrainOptions{})
		if crashed {
			return 3
		}
		return 0
	}
}

func init() {
	// listen-only-in-1: in slot 1, asks for its socket and never accepts
	// (so it never gets ready); elsewhere, "serve".
	helpers["listen-only-in-1"] = func() int {
		if os.Getenv("WORKER_ID") != "1" {
			return serveHelper()
		}
		w, err := container.Open()
		if err != nil {
			return 5
		}
		defer w.Close()
		if _, err := w.Listen("tcp", ""); err != nil {
			return 6
		}
		w.Logger().Info("listening, never accepting")
		<-w.Done()
		return 0
	}
}

// TestConnectionsGoToReadyWorkersOnly: a slot whose worker holds its
// socket but is not ready gets no connection while another slot serves.
func TestConnectionsGoToReadyWorkersOnly(t *testing.T) {
	requireSteering(t)
	cfg := testConfig(2, "listen-only-in-1")
	cfg.HTTPAddress = freeAddr(t)
	r := run(t, cfg)
	seen := map[string]bool{}
	for len(seen) < 2 {
		seen[r.waitLine(`listening, never accepting|worker 0 \(pid \d+\) ready`)[0]] = true
	}
	for i := 0; i < 50; i++ {
		if slot, _, err := getWithin(cfg.HTTPAddress, 5*time.Second); err != nil || slot != 0 {
			t.Fatalf("request %d: slot %d, %v; want every answer from slot 0", i, slot, err)
		}
	}
}

// startKeepAliveLoad is startLoad with clients that each keep one
// connection and send requests on it back to back, opening a new one
// after "Connection: close" (a draining worker) or a failure.
func startKeepAliveLoad(t *testing.T, addr string, clients int) *load {
	l := &load{pids: map[int]int{}, stop: make(chan struct{})}
	for i := 0; i < clients; i++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			var (
				c  net.Conn
				br *bufio.Reader
			)
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				if c == nil {
					var err error
					if c, err = net.DialTimeout("tcp", addr, 2*time.Second); err != nil {
						l.record(0, err)
						c = nil
						continue
					}
					br = bufio.NewReader(c)
				}
				pid, closed, err := getOn(c, br)
				l.record(pid, err)
				if err != nil || closed {
					c.Close()
					c = nil
				}
				time.Sleep(time.Millisecond) // about 1000 requests/s per client at most
			}
		}()
	}
	t.Cleanup(l.finish)
	return l
}

// getOn sends one request on a keep-alive connection and returns the pid
// that answered and whether the worker closes the connection after it.
func getOn(c net.Conn, br *bufio.Reader) (pid int, closed bool, err error) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return 0, false, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, false, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, false, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("status %d", resp.StatusCode)
	}
	var slot int
	if _, err := fmt.Sscan(string(body), &slot, &pid); err != nil {
		return 0, false, fmt.Errorf("body %q: %v", body, err)
	}
	return pid, resp.Close, nil
}

// record counts one request: answered by pid, or failed with err.
func (l *load) record(pid int, err error) {
	l.total.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failures = append(l.failures, time.Now().Format("15:04:05.000000 ")+err.Error())
		return
	}
	l.pids[pid]++
}

// answeredBy returns how many requests pid answered so far.
func (l *load) answeredBy(pid int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pids[pid]
}

// currentPIDs returns the pid of each slot's current worker.
func (r *running) currentPIDs() map[int]int {
	r.t.Helper()
	st, err := r.sup.Status(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	pids := map[int]int{}
	for _, w := range st.Workers {
		if w.Role == "current" {
			pids[w.ID] = w.PID
		}
	}
	return pids
}

// TestSocketsUnderLoad runs a reload, a crash, a scale down and a scale up
// under close-per-request and keep-alive load, with one socket per slot
// (connections spread over every ready slot, or packed on as few as keep
// up, from one) and with the shared socket of the fallback: no request
// fails, and after each step every worker answers (spread) or the load
// goes on (packed: the set need not reach every worker).
func TestSocketsUnderLoad(t *testing.T) {
	for _, sockets := range []string{"spread", "pack", "shared"} {
		for _, keepAlive := range []bool{false, true} {
			name := fmt.Sprintf("%s/keepalive=%v", sockets, keepAlive)
			t.Run(name, func(t *testing.T) { testSocketsUnderLoad(t, sockets, keepAlive) })
		}
	}
}

func testSocketsUnderLoad(t *testing.T, sockets string, keepAlive bool) {
	shared, packed := sockets == "shared", sockets == "pack"
	if !shared {
		requireSteering(t)
	}
	cfg := testConfig(3, "serve-then-crash")
	cfg.HTTPAddress = freeAddr(t)
	cfg.Steering = config.SteeringSpread
	if packed {
		cfg.Steering = config.SteeringPack
	}
	r := runWith(t, cfg, func(s *Supervisor) {
		if shared {
			s.sockets.sharedWhy = "forced by the test"
		}
		s.sockets.packFloor = 1
	})
	for i := 0; i < 3; i++ {
		r.waitLine(`worker \d \(pid \d+\) ready`)
	}
	start := startLoad
	if keepAlive {
		start = startKeepAliveLoad
	}
	l := start(t, cfg.HTTPAddress, 6)
	// Keep-alive clients stay with their worker until it drains, so a new
	// worker need not get any of them: only the close-per-request load
	// shows that connections reach every serving slot.
	everyWorkerAnswers := func(step string) {
		t.Helper()
		for slot, pid := range r.currentPIDs() {
			if keepAlive || packed {
				break
			}
			if !poll(20*time.Second, func() bool { return l.answeredBy(pid) > 0 }) {
				t.Fatalf("after %s, worker %d (pid %d) answered nothing: %v", step, slot, pid, l.pids)
			}
		}
		l.waitMore(t, 100)
	}
	everyWorkerAnswers("the start")

	if got := r.notify("agent.reload"); !strings.HasPrefix(got, "ok: reloaded 3 workers") {
		t.Fatalf("reload: %q", got)
	}
	everyWorkerAnswers("the reload")

	// Slot 0 is always among the packed active slots.
	victimSlot := 1
	if packed {
		victimSlot = 0
	}
	victim := r.currentPIDs()[victimSlot]
	syscall.Kill(victim, syscall.SIGUSR1)
	r.waitLine(fmt.Sprintf(`worker %d \(pid %d\) exited unexpectedly with code 3`, victimSlot, victim))
	r.waitLine(fmt.Sprintf(`worker %d \(pid \d+\) ready`, victimSlot))
	everyWorkerAnswers("the crash")

	if got := r.notify("agent.scale 2"); !strings.HasPrefix(got, "ok: 2 workers") {
		t.Fatalf("scale down: %q", got)
	}
	r.waitLine(`worker 2 \(pid \d+\) stopped \(scale down\)`)
	everyWorkerAnswers("the scale down")

	if got := r.notify("agent.scale 4"); !strings.HasPrefix(got, "ok: 4 workers") {
		t.Fatalf("scale up: %q", got)
	}
	r.waitLine(`worker [23] \(pid \d+\) ready`)
	r.waitLine(`worker [23] \(pid \d+\) ready`)
	everyWorkerAnswers("the scale up")

	l.finishClean(t, "across reload, crash, scale down and up")
	t.Logf("%d requests, 0 failed, by pid %v", l.total.Load(), l.pids)
	if shared {
		if !strings.Contains(strings.Join(r.seen, "\n"), "every worker shares one socket per address") {
			t.Errorf("no log line tells why the socket is shared")
		}
	}
}

// TestScaleDownLosesNoQueuedConnection: connections queued on the socket of
// a slot whose worker does not accept (stopped with SIGSTOP) are all
// answered when scaling down removes that slot: new connections are
// steered away from it first, and the connections still queued when its
// socket closes move to a serving socket instead of being reset.
func TestScaleDownLosesNoQueuedConnection(t *testing.T) {
	requireSteering(t)
	cfg := testConfig(2, "serve")
	cfg.HTTPAddress = freeAddr(t)
	cfg.GracefulShutdown = time.Second
	r := run(t, cfg)
	r.waitLine(`worker \d \(pid \d+\) ready`)
	r.waitLine(`worker \d \(pid \d+\) ready`)
	stuck := r.currentPIDs()[1]
	stopProcess(t, stuck)
	defer syscall.Kill(stuck, syscall.SIGCONT)

	const n = 40
	results := make(chan error, n)
	// The queued clients wait for the scale down: a minute, not getOnce's
	// 5 s, on a loaded machine.
	for i := 0; i < n; i++ {
		go func() {
			_, _, err := getWithin(cfg.HTTPAddress, time.Minute)
			results <- err
		}()
	}
	_, port, _ := net.SplitHostPort(cfg.HTTPAddress)
	var finished, queued int
	var failed []error
	if !poll(30*time.Second, func() bool {
	drain:
		for {
			select {
			case err := <-results:
				if err != nil {
					failed = append(failed, err)
				}
				finished++
			default:
				break drain
			}
		}
		queued = acceptQueued(t, port)
		return queued > 0 && finished+queued == n
	}) && queued == 0 {
		// Some may still be on their way (a handshake or a client not yet
		// connected on a loaded host): those are scaled down with the slot
		// too, and counted below like the rest.
		t.Fatalf("%d finished, %d queued of %d: the stopped worker's slot got no connection", finished, queued, n)
	}
	t.Logf("%d answered by worker 0, %d queued for the stopped worker 1", finished-len(failed), queued)

	if got := r.notify("agent.scale 1"); !strings.HasPrefix(got, "ok: 1 worker ") {
		t.Fatalf("scale down: %q", got)
	}
	r.waitLine(`worker 1 \(pid ` + strconv.Itoa(stuck) + `\) stopped \(scale down\)`)
	for finished < n {
		select {
		case err := <-results:
			if err != nil {
				failed = append(failed, err)
			}
			finished++
		case <-time.After(30 * time.Second):
			t.Fatalf("%d of %d connections never finished", n-finished, n)
		}
	}
	if len(failed) > 0 {
		t.Fatalf("%d of %d connections failed, first: %v", len(failed), n, failed[0])
	}
}

// stopProcess stops pid with SIGSTOP and returns once every thread of it
// is stopped. kill(2) returns before that: the kernel wakes one thread to
// take the signal and stops the others only when that one runs, so on a
// loaded host the others (a Go worker's netpoller among them) go on
// accepting connections for a while.
func stopProcess(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP %d: %v", pid, err)
	}
	stopped := func() bool {
		tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil || len(tasks) == 0 {
			return false
		}
		for _, task := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
			s := string(b)
			if i := strings.LastIndexByte(s, ')'); err != nil || i < 0 || i+2 >= len(s) || s[i+2] != 'T' {
				return false
			}
		}
		return true
	}
	if !poll(30*time.Second, stopped) {
		t.Fatalf("pid %d: not every thread stopped within 30 s of SIGSTOP", pid)
	}
}

// acceptQueued returns the connections queued on the listening sockets of
// port, accepted by the kernel and not yet by a process (the receive queue
// of a listening socket in /proc/net/tcp is its accept queue).
func acceptQueued(t *testing.T, port string) int {
	t.Helper()
	p, _ := strconv.Atoi(port)
	want := fmt.Sprintf(":%04X", p)
	n := 0
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 5 || f[3] != "0A" || !strings.HasSuffix(f[1], want) {
				continue
			}
			if i := strings.IndexByte(f[4], ':'); i >= 0 {
				q, _ := strconv.ParseUint(f[4][i+1:], 16, 32)
				n += int(q)
			}
		}
	}
	return n
}

// TestAgentNeverPollsItsListeningSockets: the agent holds one listening
// socket per slot (one in all when shared), and none is in any epoll set
// of its process, so a connection never wakes it.
func TestAgentNeverPollsItsListeningSockets(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			if !shared {
				requireSteering(t)
			}
			cfg := testConfig(3, "serve")
			cfg.HTTPAddress = freeAddr(t)
			r := runWith(t, cfg, func(s *Supervisor) {
				if shared {
					s.sockets.sharedWhy = "forced by the test"
				}
			})
			for i := 0; i < 3; i++ {
				r.waitLine(`worker \d \(pid \d+\) ready`)
			}
			for i := 0; i < 20; i++ {
				get(t, cfg.HTTPAddress)
			}
			_, port, _ := net.SplitHostPort(cfg.HTTPAddress)
			p, _ := strconv.Atoi(port)
			held := listeningFDs(t, p)
			want := 3
			if shared {
				want = 1
			}
			if len(held) != want {
				t.Fatalf("the agent holds %d listening sockets on %s, want %d", len(held), cfg.HTTPAddress, want)
			}
			for epfd, polled := range epollTargets(t) {
				for _, fd := range held {
					if polled[fd] {
						t.Errorf("listening socket fd %d is in epoll set fd %d", fd, epfd)
					}
				}
			}
		})
	}
}

// listeningFDs returns this process's descriptors of listening TCP sockets
// bound to port.
func listeningFDs(t *testing.T, port int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var fds []int
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if on, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || on != 1 {
			continue
		}
		switch sa, _ := unix.Getsockname(fd); sa := sa.(type) {
		case *unix.SockaddrInet4:
			if sa.Port == port {
				fds = append(fds, fd)
			}
		case *unix.SockaddrInet6:
			if sa.Port == port {
				fds = append(fds, fd)
			}
		}
	}
	return fds
}

// epollTargets returns, for each epoll descriptor of this process, the
// descriptors it watches ("tfd:" lines of /proc/self/fdinfo).
func epollTargets(t *testing.T) map[int]map[int]bool {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	sets := map[int]map[int]bool{}
	for _, e := range entries {
		if link, _ := os.Readlink("/proc/self/fd/" + e.Name()); link != "anon_inode:[eventpoll]" {
			continue
		}
		info, err := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			continue
		}
		epfd, _ := strconv.Atoi(e.Name())
		sets[epfd] = map[int]bool{}
		for _, line := range strings.Split(string(info), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "tfd:" {
				fd, _ := strconv.Atoi(f[1])
				sets[epfd][fd] = true
			}
		}
	}
	if len(sets) == 0 {
		t.Fatal("no epoll descriptor in this process: the check would prove nothing")
	}
	return sets
}

// requireSteering stops the test unless this process may load the steering
// program (Linux 5.14+, root or CAP_BPF and CAP_NET_ADMIN), as the agent
// under test then falls back to a shared socket: a failure under CI, a
// skip elsewhere.
func requireSteering(t *testing.T) {
	t.Helper()
	st, err := newSteerer()
	if err != nil {
		testtool.Missing(t, "BPF SK_REUSEPORT steering ("+err.Error()+")", "run the tests as root on Linux 5.14 or later")
		return
	}
	st.close()
}

// TestFallbackWithoutBPFRights: an agent that may not load the steering
// program (CAP_BPF and CAP_SYS_ADMIN dropped) says why in one line and
// serves from one shared socket, every worker accepting on it.
func TestFallbackWithoutBPFRights(t *testing.T) {
	var wrap []string
	if os.Geteuid() == 0 {
		setpriv := testtool.Require(t, "setpriv", "apt-get install util-linux")
		wrap = []string{setpriv, "--bounding-set", "-bpf,-sys_admin,-perfmon", "--inh-caps", "-bpf,-sys_admin,-perfmon"}
	}
	addr := freeAddr(t)
	_, lines := startAgentProcess(t, wrap, "HELPER_WORKERS=2", "HELPER_ADDR="+addr)
	why := expectLine(t, lines, `every worker shares one socket per address, so each connection wakes every worker: .*(operation not permitted|permission denied)`, "")
	t.Logf("%s", why[0])
	expectLine(t, lines, `worker \d \(pid \d+\) ready`, "shares one socket")
	expectLine(t, lines, `worker \d \(pid \d+\) ready`, "shares one socket")
	slots := map[int]bool{}
	for i := 0; i < 100 && len(slots) < 2; i++ {
		slot, _ := get(t, addr)
		slots[slot] = true
	}
	if len(slots) < 2 {
		t.Fatalf("100 requests answered by slots %v only", slots)
	}
}

// TestStalledWorkerIsSteeredAround: a worker that stops accepting without
// exiting (SIGSTOP) loses its share of new connections within seconds,
// not at the keepalive kill; what waited for it is answered once it
// resumes, and it then gets new connections again. Packed, with a third
// worker outside the active set of two, the same: the set widens past the
// stalled slot.
func TestStalledWorkerIsSteeredAround(t *testing.T) {
	for _, steering := range []config.Steering{config.SteeringSpread, config.SteeringPack} {
		t.Run(string(steering), func(t *testing.T) { testStalledWorkerIsSteeredAround(t, steering) })
	}
}

func testStalledWorkerIsSteeredAround(t *testing.T, steering config.Steering) {
	requireSteering(t)
	workers := 2
	if steering == config.SteeringPack {
		workers = 3
	}
	cfg := testConfig(workers, "serve")
	cfg.HTTPAddress = freeAddr(t)
	cfg.Steering = steering
	r := runWith(t, cfg, func(s *Supervisor) { s.sockets.packFloor = 2 })
	for i := 0; i < workers; i++ {
		r.waitLine(`worker \d \(pid \d+\) ready`)
	}
	stuck := strconv.Itoa(r.currentPIDs()[1])
	stopProcess(t, r.currentPIDs()[1])
	defer syscall.Kill(r.currentPIDs()[1], syscall.SIGCONT)

	const n = 20
	results := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			_, _, err := getWithin(cfg.HTTPAddress, time.Minute)
			results <- err
		}()
	}
	r.waitLine(`worker 1 \(pid ` + stuck + `\) has not taken the \d+ connections waiting on tcp \S+ for 2s: new connections go to the other workers`)
	for i := 0; i < 30; i++ {
		if slot, _, err := getWithin(cfg.HTTPAddress, 3*time.Second); err != nil || slot == 1 {
			t.Fatalf("request %d after the stall was seen: slot %d, %v; want another than 1", i, slot, err)
		}
	}
	pid, _ := strconv.Atoi(stuck)
	syscall.Kill(pid, syscall.SIGCONT)
	r.waitLine(`worker 1 \(pid ` + stuck + `\) accepts again`)
	for i := 0; i < n; i++ {
		select {
		case err := <-results:
			if err != nil {
				t.Fatalf("a connection queued for the stalled worker failed: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%d connections queued for the stalled worker never answered", n-i)
		}
	}
	back := false
	for i := 0; i < 100 && !back; i++ {
		slot, _ := get(t, cfg.HTTPAddress)
		back = slot == 1
	}
	if !back {
		t.Fatal("the recovered worker got none of 100 new connections")
	}
}
