package container

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxStackDump bounds the goroutine dump tars.dumpstack answers: the reply
// must fit in one frame to the agent. A longer dump is cut, and says so.
const MaxStackDump = 1 << 20

// The commands a worker answers by itself besides tars.setloglevel and
// tars.viewstatus (see registerBuiltins). The agent sends them with the
// data shown; by hand (`node-agent ctl`) they go through the agent.
const (
	// cmdHelp answers the names of the registered commands, one a line.
	cmdHelp = "tars.help"
	// cmdDumpStack answers the stacks of every goroutine.
	cmdDumpStack = "tars.dumpstack"
	// cmdPProf "PORT SECONDS [WORKER]" serves net/http/pprof on
	// 127.0.0.1:PORT (0: a free port) for SECONDS; with WORKER ≥ 0 only
	// the worker of that id does, the others answer ""; with WORKER -1
	// every worker does, worker i on PORT+i.
	cmdPProf = "tars.pprof"
	// cmdLoadConfig "PATH": the agent wrote the config file PATH (pushed
	// from the TARS console, or the -c file changed under --watch); the
	// callback of OnConfig applies it.
	cmdLoadConfig = "tars.loadconfig"
)

// OnConfig registers fn to apply a config file the agent announces with
// tars.loadconfig: fn gets the file's absolute path (under TARS, in
// $TARS_BASEPATH: the file the console pushed, already written in full)
// and returns an error when the file cannot be applied, which the agent
// reports to the caller. fn runs on its own goroutine, once per
// announcement; it should swap the new settings in atomically. Without
// OnConfig the command answers ErrNoHandler, which the agent counts as
// "read at the next start". A later call replaces fn; HandleFunc for
// "tars.loadconfig" replaces the whole command.
func (w *Worker) OnConfig(fn func(ctx context.Context, path string) error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.onConfig = fn
}

// loadConfig runs the OnConfig callback.
func (w *Worker) loadConfig(ctx context.Context, path string) (string, error) {
	w.mu.Lock()
	fn := w.onConfig
	w.mu.Unlock()
	if fn == nil {
		return "", fmt.Errorf("%w for %q: no OnConfig callback", ErrNoHandler, cmdLoadConfig)
	}
	if err := fn(ctx, path); err != nil {
		return "", fmt.Errorf("config %s not applied: %w", path, err)
	}
	return "applied " + path, nil
}

// help lists the commands this worker answers.
func (w *Worker) help(context.Context, string) (string, error) {
	w.mu.Lock()
	names := make([]string, 0, len(w.handlers))
	for name := range w.handlers {
		names = append(names, name)
	}
	w.mu.Unlock()
	slices.Sort(names)
	return strings.Join(names, "\n"), nil
}

// dumpStack answers every goroutine's stack, at most MaxStackDump bytes.
func (w *Worker) dumpStack(context.Context, string) (string, error) {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		if len(buf) >= MaxStackDump {
			const cut = "\n… cut at MaxStackDump bytes\n"
			return string(buf[:len(buf)-len(cut)]) + cut, nil
		}
		buf = make([]byte, min(2*len(buf), MaxStackDump))
	}
}

// servePProf runs tars.pprof: net/http/pprof on the loopback interface
// only, for the given time (at most an hour), or until the Worker closes.
func (w *Worker) servePProf(_ context.Context, data string) (string, error) {
	f := strings.Fields(data)
	if len(f) < 2 {
		return "", errors.New("tars.pprof wants PORT SECONDS [WORKER]")
	}
	port, err := strconv.Atoi(f[0])
	if err != nil || port < 0 || port > 65535 {
		return "", fmt.Errorf("tars.pprof: bad port %q", f[0])
	}
	secs, err := strconv.Atoi(f[1])
	if err != nil || secs <= 0 || secs > 3600 {
		return "", fmt.Errorf("tars.pprof: bad time %q: want 1 to 3600 seconds", f[1])
	}
	if len(f) > 2 {
		id, err := strconv.Atoi(f[2])
		switch {
		case err != nil || (id >= 0 && id != w.id):
			return "", nil // another worker was chosen
		case id < 0 && port > 0:
			port += w.id // every worker: one port each
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return "", fmt.Errorf("tars.pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	w.wg.Add(2)
	go func() {
		defer w.wg.Done()
		srv.Serve(ln)
	}()
	go func() {
		defer w.wg.Done()
		t := time.NewTimer(time.Duration(secs) * time.Second)
		defer t.Stop()
		select {
		case <-t.C:
		case <-w.closed:
		}
		srv.Close()
	}()
	w.logger.Info("serving pprof", "address", ln.Addr().String(), "for", time.Duration(secs)*time.Second)
	return "see http://" + ln.Addr().String() + "/debug/pprof/", nil
}
