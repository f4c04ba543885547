package containertest

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/container"
	"github.com/nodeagent/node-agent/container/wire"
)

// Timeout bounds every wait of the fake agent.
const Timeout = 10 * time.Second

// Agent is a fake agent connected to one Worker.
type Agent struct {
	t      testing.TB
	conn   *wire.Conn
	worker *container.Worker

	ready    chan struct{}
	readyOne sync.Once
	cmdID    uint64

	mu         sync.Mutex
	replies    map[uint64]chan wire.Reply
	heartbeats int
	logs       []wire.Log
	listeners  []net.Listener
	done       chan struct{}
	noAddress  bool
	configs    map[string]string // Options.Configs
	configDir  string            // where AddConfig writes them
}

// Options configure New; the zero value is fine.
type Options struct {
	WorkerID  int
	Heartbeat time.Duration
	LogLevel  string
	// NoHTTPAddress makes the agent answer a Listen for "" as an agent
	// without --http-address does: container.ErrNoAddress. By default it
	// binds a free loopback port.
	NoHTTPAddress bool
	// Configs are the files of a fake TARS config center, by name: the
	// worker's AddConfig writes the named one into a directory of the test
	// and gets its path; a name not there fails as the config center fails
	// for a file it does not have. nil is an agent without a config
	// center: AddConfig answers container.ErrNoConfigCenter.
	Configs map[string]string
}

// New starts a fake agent and a Worker connected to it. Both are closed when
// the test ends.
func New(t testing.TB, opts ...Options) *Agent {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	conn, theirs, err := wire.Pair()
	if err != nil {
		t.Fatal(err)
	}
	a := &Agent{t: t, conn: conn, ready: make(chan struct{}), replies: make(map[uint64]chan wire.Reply), done: make(chan struct{}), noAddress: o.NoHTTPAddress,
		configs: o.Configs}
	if o.Configs != nil {
		a.configDir = t.TempDir()
	}
	go a.serve()
	w, err := container.OpenWith(container.Options{
		Channel: theirs, WorkerID: o.WorkerID, Heartbeat: o.Heartbeat, LogLevel: o.LogLevel,
		Orphaned: func() {},
	})
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	a.worker = w
	t.Cleanup(a.close)
	return a
}

// Worker returns the worker connected to the fake agent.
func (a *Agent) Worker() *container.Worker { return a.worker }

// Command sends an admin command to the worker and returns its reply: the
// text, or the error's text when the handler failed.
func (a *Agent) Command(cmd, data string) string {
	a.t.Helper()
	text, err := a.Call(cmd, data)
	if err != nil {
		return err.Error()
	}
	return text
}

// Call sends an admin command to the worker and returns its reply, or the
// error its handler answered.
func (a *Agent) Call(cmd, data string) (string, error) {
	a.t.Helper()
	a.mu.Lock()
	a.cmdID++
	id := a.cmdID
	reply := make(chan wire.Reply, 1)
	a.replies[id] = reply
	a.mu.Unlock()
	if err := a.conn.Send(wire.KindCommand, wire.Command{ID: id, Cmd: cmd, Data: data}); err != nil {
		a.t.Fatalf("containertest: sending %q: %v", cmd, err)
	}
	select {
	case r := <-reply:
		if r.Error != "" {
			return r.Text, errors.New(r.Error)
		}
		return r.Text, nil
	case <-time.After(Timeout):
		a.t.Fatalf("containertest: no reply to %q within %v", cmd, Timeout)
		return "", nil
	}
}

// Stop asks the worker to stop gracefully, as the agent does on shutdown.
func (a *Agent) Stop() {
	a.t.Helper()
	if err := a.conn.Send(wire.KindStop, nil); err != nil {
		a.t.Fatalf("containertest: stop: %v", err)
	}
}

// WaitReady waits until the worker said it is ready.
func (a *Agent) WaitReady() {
	a.t.Helper()
	select {
	case <-a.ready:
	case <-time.After(Timeout):
		a.t.Fatalf("containertest: worker not ready within %v", Timeout)
	}
}

// IsReady reports whether the worker said it is ready.
func (a *Agent) IsReady() bool {
	select {
	case <-a.ready:
		return true
	default:
		return false
	}
}

// Heartbeats returns how many heartbeats the worker sent.
func (a *Agent) Heartbeats() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.heartbeats
}

// Logs returns the records the worker logged so far.
func (a *Agent) Logs() []wire.Log {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]wire.Log(nil), a.logs...)
}

func (a *Agent) close() {
	a.worker.Close()
	a.conn.Close()
	<-a.done
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ln := range a.listeners {
		ln.Close()
	}
}

// serve answers the worker's frames until the channel closes.
func (a *Agent) serve() {
	defer close(a.done)
	for {
		m, err := a.conn.Receive()
		if err != nil {
			return
		}
		switch m.Kind {
		case wire.KindReady:
			a.readyOne.Do(func() { close(a.ready) })
		case wire.KindHeartbeat:
			a.mu.Lock()
			a.heartbeats++
			a.mu.Unlock()
		case wire.KindReply:
			var r wire.Reply
			if m.Decode(&r) == nil {
				a.mu.Lock()
				ch := a.replies[r.ID]
				delete(a.replies, r.ID)
				a.mu.Unlock()
				if ch != nil {
					ch <- r
				}
			}
		case wire.KindLog:
			var l wire.Log
			if m.Decode(&l) == nil {
				a.mu.Lock()
				a.logs = append(a.logs, l)
				a.mu.Unlock()
			}
		case wire.KindListen:
			var l wire.Listen
			if m.Decode(&l) == nil {
				a.listen(l)
			}
		case wire.KindAddConfig:
			var c wire.AddConfig
			if m.Decode(&c) == nil {
				a.conn.Send(wire.KindAddConfigResult, a.addConfig(c))
			}
		}
	}
}

// addConfig answers an AddConfig from Options.Configs, as the agent
// answers it from the config center.
func (a *Agent) addConfig(req wire.AddConfig) wire.AddConfigResult {
	res := wire.AddConfigResult{ID: req.ID}
	content, ok := a.configs[req.Name]
	switch {
	case a.configs == nil:
		res.Code, res.Error = wire.ConfigNoCenter, "no config center"
	case req.Name == "" || filepath.Base(req.Name) != req.Name:
		res.Code, res.Error = wire.ConfigBadName, "not a plain file name"
	case !ok:
		res.Error = "loadConfigByInfo(" + req.Name + "): the config center answered -1 (no such file?)"
	default:
		res.Path = filepath.Join(a.configDir, req.Name)
		if err := os.WriteFile(res.Path, []byte(content), 0o644); err != nil {
			res.Path, res.Error = "", err.Error()
		}
	}
	return res
}

func (a *Agent) listen(req wire.Listen) {
	res := wire.ListenResult{ID: req.ID}
	addr := req.Address
	if addr == "" {
		if a.noAddress {
			res.NoAddress = true
			a.conn.Send(wire.KindListenResult, res)
			return
		}
		addr = "127.0.0.1:0"
	}
	f, bound, err := bind(req.Network, addr)
	if err != nil {
		res.Error = err.Error()
		a.conn.Send(wire.KindListenResult, res)
		return
	}
	defer f.Close()
	res.Address = bound.Addr().String()
	a.mu.Lock()
	a.listeners = append(a.listeners, bound)
	a.mu.Unlock()
	a.conn.Send(wire.KindListenResult, res, f)
}

func bind(network, addr string) (*os.File, net.Listener, error) {
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, nil, err
	}
	fl, ok := ln.(interface{ File() (*os.File, error) })
	if !ok {
		ln.Close()
		return nil, nil, errors.New("listener has no descriptor")
	}
	f, err := fl.File()
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	return f, ln, nil
}
