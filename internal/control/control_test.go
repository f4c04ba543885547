package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// echoHandler answers commands with their text, "fail" with an error, and
// streams what is published to it.
type echoHandler struct {
	mu       sync.Mutex
	shutdown int
	lines    chan string
}

func (h *echoHandler) Command(_ context.Context, cmd string) (string, error) {
	if cmd == "fail" {
		return "", errors.New("it failed")
	}
	return "got " + cmd, nil
}

func (h *echoHandler) Shutdown() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.shutdown++
	return "stopping"
}

func (h *echoHandler) Logs(ctx context.Context, req Request, send func(string) error) error {
	if err := send(fmt.Sprintf("past %d %s\n", req.Lines, req.Source)); err != nil || !req.Follow {
		return err
	}
	for {
		select {
		case l := <-h.lines:
			if err := send(l); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (h *echoHandler) Info() Info { return Info{Name: "svc", PID: os.Getpid(), AppLog: "/x/svc.log"} }

func (h *echoHandler) Status(context.Context) (string, error) { return `{"name":"svc"}`, nil }

// shortDir is a temp dir with a path short enough for a unix socket.
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "ctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return filepath.Join(d, "node-agent")
}

func serve(t *testing.T, dir, name string) (*Listener, *echoHandler) {
	t.Helper()
	ln, err := Listen(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	h := &echoHandler{lines: make(chan string, 8)}
	srv := Serve(ln, h)
	t.Cleanup(func() {
		ln.Close()
		srv.Close()
	})
	return ln, h
}

func TestListenModesAndCleanup(t *testing.T) {
	dir := shortDir(t)
	ln, err := Listen(dir, "A.S")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, ln.Path(): 0o600, lockPath(dir, "A.S"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", path, got, want)
		}
	}
	if names, _ := Names(dir); len(names) != 1 || names[0] != "A.S" {
		t.Fatalf("Names = %v", names)
	}
	if held, pid := Held(dir, "A.S"); !held || pid != os.Getpid() {
		t.Fatalf("Held = %v, %d", held, pid)
	}
	ln.Close()
	for _, p := range []string{ln.Path(), lockPath(dir, "A.S")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left after Close: %v", p, err)
		}
	}
	if held, _ := Held(dir, "A.S"); held {
		t.Fatal("lock still held after Close")
	}
}

// TestSecondListenerRefused: one name, one agent; the error names the
// first one's pid.
func TestSecondListenerRefused(t *testing.T) {
	dir := shortDir(t)
	serve(t, dir, "gw")
	_, err := Listen(dir, "gw")
	var inUse *InUseError
	if !errors.As(err, &inUse) || inUse.PID != os.Getpid() {
		t.Fatalf("second Listen: %v, want *InUseError with pid %d", err, os.Getpid())
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("error %q does not name the pid", err)
	}
	// Another name is fine.
	serve(t, dir, "other")
}

// TestStaleSocketTakenOver: a socket and lock file left by a killed agent
// (no lock held) are replaced, and the previous pid is reported.
func TestStaleSocketTakenOver(t *testing.T) {
	dir := shortDir(t)
	if err := ensureDir(dir); err != nil {
		t.Fatal(err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: Path(dir, "gw"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close() // the file stays, nobody listens: what SIGKILL leaves
	if err := os.WriteFile(lockPath(dir, "gw"), []byte("4242\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Call(context.Background(), Path(dir, "gw"), Request{Op: OpInfo}); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("call to a stale socket: %v, want ErrNotRunning", err)
	}
	ln, _ := serve(t, dir, "gw")
	if ln.Stale != 4242 {
		t.Fatalf("Stale = %d, want 4242", ln.Stale)
	}
	if _, err := Call(context.Background(), ln.Path(), Request{Op: OpStatus}); err != nil {
		t.Fatal(err)
	}
}

func TestUnsafeDirRefused(t *testing.T) {
	dir := shortDir(t)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777)
	if _, err := Listen(dir, "gw"); err == nil || !strings.Contains(err.Error(), "writable by others") {
		t.Fatalf("Listen in a 0777 dir: %v", err)
	}
}

func TestTooLongPathRefused(t *testing.T) {
	dir := shortDir(t)
	if _, err := Listen(dir, strings.Repeat("x", 120)); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("Listen with a long name: %v", err)
	}
}

func TestCallReplies(t *testing.T) {
	dir := shortDir(t)
	ln, h := serve(t, dir, "gw")
	ctx := context.Background()
	if got, err := Call(ctx, ln.Path(), Request{Op: OpCommand, Command: "agent.status"}); err != nil || got != "got agent.status" {
		t.Fatalf("command: %q, %v", got, err)
	}
	_, err := Call(ctx, ln.Path(), Request{Op: OpCommand, Command: "fail"})
	var reply *ReplyError
	if !errors.As(err, &reply) || reply.Msg != "it failed" {
		t.Fatalf("failing command: %v, want a ReplyError", err)
	}
	if _, err := Call(ctx, ln.Path(), Request{Op: "bogus"}); !errors.As(err, &reply) || !strings.Contains(reply.Msg, "bogus") {
		t.Fatalf("unknown op: %v", err)
	}
	if got, err := Call(ctx, ln.Path(), Request{Op: OpShutdown}); err != nil || got != "stopping" || h.shutdown != 1 {
		t.Fatalf("shutdown: %q, %v, %d calls", got, err, h.shutdown)
	}
	info, err := GetInfo(ctx, ln.Path())
	if err != nil || info.Name != "svc" || info.PID != os.Getpid() || info.AppLog != "/x/svc.log" {
		t.Fatalf("info: %+v, %v", info, err)
	}
}

func TestLogsPastAndFollow(t *testing.T) {
	dir := shortDir(t)
	ln, h := serve(t, dir, "gw")
	var got []string
	err := Logs(context.Background(), ln.Path(), Request{Lines: 5, Source: SourceAgent}, func(s string) error {
		got = append(got, s)
		return nil
	})
	if err != nil || len(got) != 1 || got[0] != "past 5 agent\n" {
		t.Fatalf("logs without follow: %q, %v", got, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.lines <- "one\n"
	h.lines <- "two\n"
	got = nil
	err = Logs(ctx, ln.Path(), Request{Follow: true}, func(s string) error {
		got = append(got, s)
		if len(got) == 3 {
			cancel() // the client stops following
		}
		return nil
	})
	if err != nil || strings.Join(got, "") != "past 0 \none\ntwo\n" {
		t.Fatalf("follow: %q, %v", got, err)
	}
}

// TestFrameLimits: a frame over MaxFrame is refused before it is read.
func TestFrameLimits(t *testing.T) {
	dir := shortDir(t)
	ln, _ := serve(t, dir, "gw")
	c, err := net.Dial("unix", ln.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{0xff, 0xff, 0xff, 0xff})
	var r Reply
	if err := readFrame(c, &r); err != nil || r.OK || !strings.Contains(r.Error, "exceeds") {
		t.Fatalf("oversized frame: %+v, %v", r, err)
	}
}
