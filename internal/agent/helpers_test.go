package agent

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/nodeagent/node-agent/container"
	"go.uber.org/goleak"
)

// helperEnv selects the fake worker a re-executed test binary plays.
const helperEnv = "AGENT_TEST_HELPER"

// helpers are the fake programs of this package's tests, in the manner of
// os/exec's tests: the test binary re-executes itself as one of them.
var helpers = map[string]func() int{
	// serve: a linked worker answering "WORKER_ID PID" over HTTP.
	"serve": serveHelper,
	// exit-once: exits with code 3 the first time it runs in a slot
	// (marker file per slot in $HELPER_DIR), then serves.
	"exit-once": func() int {
		marker := fmt.Sprintf("%s/slot-%s", os.Getenv("HELPER_DIR"), os.Getenv("WORKER_ID"))
		if _, err := os.Stat(marker); err != nil {
			os.WriteFile(marker, nil, 0o644)
			return 3
		}
		return serveHelper()
	},
	// exit: exits at once with code 3.
	"exit": func() int { return 3 },
	// ignore-sigterm: a plain binary that ignores SIGTERM and waits.
	"ignore-sigterm": func() int {
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ignoring SIGTERM")
		select {}
	},
	// fork-grandchild: starts a grandchild that ignores SIGTERM, writes its
	// pid to $HELPER_DIR/grandchild, then serves.
	"fork-grandchild": func() int {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), helperEnv+"=ignore-sigterm")
		if err := cmd.Start(); err != nil {
			return 4
		}
		os.WriteFile(os.Getenv("HELPER_DIR")+"/grandchild", []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
		return serveHelper()
	},
	// whoami: prints its identity and environment, then waits to be stopped.
	"whoami": func() int {
		fmt.Printf("uid=%d gid=%d home=%s user=%s worker=%s notify=%q\n", os.Getuid(), os.Getgid(),
			os.Getenv("HOME"), os.Getenv("USER"), os.Getenv("WORKER_ID"), os.Getenv("NOTIFY_SOCKET"))
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM)
		<-sigs
		return 0
	},
	// never-ready: a linked worker that never accepts nor calls Ready, and
	// stops when asked.
	"never-ready": func() int {
		w, err := container.Open()
		if err != nil {
			return 5
		}
		defer w.Close()
		w.Logger().Info("up, not ready")
		<-w.Done()
		w.Logger().Info("asked to stop")
		return 0
	},
	// hang: a linked worker that becomes ready, then stops itself with
	// SIGSTOP: a real hang, heartbeats stop.
	"hang": func() int {
		w, err := container.Open()
		if err != nil {
			return 5
		}
		defer w.Close()
		w.Ready()
		w.Logger().Info("hanging")
		syscall.Kill(os.Getpid(), syscall.SIGSTOP)
		<-w.Done()
		return 0
	},
	// spam-stdout: prints 5000 numbered lines of 300 bytes to stdout and
	// stderr, the last without a newline, then exits 0.
	"spam-stdout": func() int {
		pad := strings.Repeat("x", 300)
		for i := 0; i < 5000; i++ {
			fmt.Fprintf(os.Stdout, "out %d %s\n", i, pad)
			fmt.Fprintf(os.Stderr, "err %d %s\n", i, pad)
		}
		fmt.Print("tail-without-newline")
		return 0
	},
	// agent: runs a supervisor of "serve" workers, for tests that kill it.
	"agent": agentHelper,
	// serve-once: serves the first time it runs in a slot (marker file in
	// $HELPER_DIR); later runs exit at once with code 3, as a broken new
	// build would.
	"serve-once": func() int {
		marker := fmt.Sprintf("%s/served-%s", os.Getenv("HELPER_DIR"), os.Getenv("WORKER_ID"))
		if _, err := os.Stat(marker); err == nil {
			return 3
		}
		os.WriteFile(marker, nil, 0o644)
		return serveHelper()
	},
	// grow-once: a linked worker that, the first time it runs in a slot,
	// holds 100 MiB of touched memory; then serves.
	"grow-once": func() int {
		marker := fmt.Sprintf("%s/grown-%s", os.Getenv("HELPER_DIR"), os.Getenv("WORKER_ID"))
		if _, err := os.Stat(marker); err == nil {
			return serveHelper()
		}
		os.WriteFile(marker, nil, 0o644)
		var ballast []byte
		defer runtime.KeepAlive(&ballast)
		return serveWith(func() {
			ballast = make([]byte, 100<<20)
			for i := range ballast {
				ballast[i] = byte(i)
			}
		})
	},
	// orphaner: a linked worker that serves and, once ready, leaves an
	// orphan behind: a grandchild whose parent exits at once and which
	// itself exits with code 7 a moment later.
	"orphaner": func() int {
		exec.Command("sh", "-c", "(sleep 0.3; exit 7) & exit 0").Run()
		return serveHelper()
	},
	// numbered: logging tests' worker (output_test.go).
	"numbered": numberedHelper,
	// echo-on-usr2: logging tests' worker (output_test.go).
	"echo-on-usr2": echoOnUSR2Helper,
	// log-on-usr2: logging tests' worker (output_test.go).
	"log-on-usr2": logOnUSR2Helper,
	// log-burst-then-exit: a linked worker that logs "record 0" to
	// "record 1999" through its Logger, then exits with code 3 at once.
	"log-burst-then-exit": func() int {
		w, err := container.Open()
		if err != nil {
			return 5
		}
		for i := range burstRecords {
			w.Logger().Info(fmt.Sprintf("record %d", i))
		}
		return 3
	},
	// open-output: opens the output of $HELPER_DIR, reports the error.
	"open-output": openOutputHelper,
}

func TestMain(m *testing.M) {
	if GuardianMode() { // the agents under test start this binary as their guardian
		os.Exit(RunGuardian())
	}
	if name := os.Getenv(helperEnv); name != "" {
		os.Unsetenv(helperEnv)
		os.Exit(helpers[name]())
	}
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction(lumberjackMill))
}

func serveHelper() int { return serveWith(nil) }

// serveWith is serveHelper calling ready once it serves.
func serveWith(ready func()) int {
	w, err := container.Open()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 5
	}
	defer w.Close()
	ln, err := w.Listen("tcp", "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 6
	}
	w.Handle("echo", func(data string) string { return "echo " + data })
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(rw, "%d %d", w.WorkerID(), os.Getpid())
	})}
	served := make(chan error, 1)
	go func() { served <- w.Serve(srv, ln, container.DrainOptions{}) }()
	w.Logger().Info("serving", "worker", w.WorkerID())
	if ready != nil {
		ready()
	}
	if err := <-served; err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 7
	}
	return 0
}

// agentHelper supervises $HELPER_WORKERS workers ($HELPER_WORKER, default
// "serve"; or /bin/sh running $HELPER_SCRIPT) on $HELPER_ADDR and prints its
// log. HELPER_SUBREAPER=1 makes it a subreaper.
func agentHelper() int {
	n, _ := strconv.Atoi(os.Getenv("HELPER_WORKERS"))
	name := os.Getenv("HELPER_WORKER")
	if name == "" {
		name = "serve"
	}
	cfg := testConfig(n, name)
	cfg.Subreaper = os.Getenv("HELPER_SUBREAPER") == "1"
	cfg.HTTPAddress = os.Getenv("HELPER_ADDR")
	if script := os.Getenv("HELPER_SCRIPT"); script != "" {
		cfg.Entry.Path, cfg.WorkerArgs = "/bin/sh", []string{script}
	}
	out := &Output{App: nil}
	sink := newLineSink()
	out.App, out.Agent = sink.sink, sink.sink
	go func() {
		for l := range sink.lines {
			fmt.Println(l)
		}
	}()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM)
	s, err := New(cfg, out, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return ExitUsage
	}
	return s.Run(context.Background(), sigs)
}

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
