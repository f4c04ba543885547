package smstest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/internal/testtool"
)

// Redis is a redis-server started for one test, on a free loopback port,
// with its own directory and append-only persistence (appendfsync always:
// what Redis acknowledged survives a kill of Redis).
type Redis struct {
	t    testing.TB
	bin  string
	dir  string
	Port int
	cmd  *exec.Cmd
	done chan struct{}
}

// StartRedis starts redis-server and waits until it accepts connections; it
// is stopped when the test ends. Without redis-server the test fails under
// CI=true and is skipped elsewhere (testtool.Require).
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin := testtool.Require(t, "redis-server", "apt-get install redis-server")
	r := &Redis{t: t, bin: bin, dir: t.TempDir(), Port: freePort(t)}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// URL is the store URL of database 0.
func (r *Redis) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.Port) }

// Start (re)starts the server on the same port and directory, so a
// restarted Redis has the data of the one before it.
func (r *Redis) Start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, "--port", strconv.Itoa(r.Port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--protected-mode", "no", "--loglevel", "warning")
	log, err := os.OpenFile(filepath.Join(r.dir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		r.t.Fatal(err)
	}
	defer log.Close()
	r.cmd.Stdout, r.cmd.Stderr = log, log
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("redis-server: %v", err)
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(r.cmd, r.done)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if r.ping() {
			return
		}
		select {
		case <-r.done:
			r.t.Fatalf("redis-server on port %d exited at start", r.Port)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server on port %d did not answer PING in 10 s", r.Port)
		}
	}
}

// ping sends PING and reports whether PONG came back.
func (r *Redis) ping() bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", r.Port), time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	fmt.Fprint(c, "PING\r\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

// Kill stops the server with SIGKILL (a lost Redis) and waits for it.
func (r *Redis) Kill() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
	r.cmd = nil
}

// Stop is Kill; the data stays in the directory until the test ends.
func (r *Redis) Stop() { r.Kill() }

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
