package monitor

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
	"github.com/nodeagent/node-agent/tars"
)

// The interop tests send reports to a StatF/PropertyF server built on the
// real @tars/rpc (tars/testdata/interop/stat-peer.js). Install the npm
// packages with
//
//	npm ci --prefix tars/testdata/interop
//
// Without them the tests skip; with them, a missing node is a failure.

var interopDir = filepath.Join("..", "tars", "testdata", "interop")

// statPeer is a running stat-peer.js.
type statPeer struct {
	stat, property string // proxies of its servants
	calls          chan peerCall
}

// peerCall is one call the peer received, decoded by @tars/stream.
type peerCall struct {
	Servant string            `json:"servant"`
	Func    string            `json:"func"`
	Oneway  bool              `json:"oneway"`
	Error   string            `json:"error"`
	Msg     []json.RawMessage `json:"msg"`
}

// peerStat is a reportMicMsg entry as the peer decoded it.
type peerStat struct {
	Head struct {
		MasterName    string `json:"masterName"`
		SlaveName     string `json:"slaveName"`
		InterfaceName string `json:"interfaceName"`
		SlaveIP       string `json:"slaveIp"`
		SlavePort     int    `json:"slavePort"`
	} `json:"head"`
	Body struct {
		Count         int            `json:"count"`
		ExecCount     int            `json:"execCount"`
		TimeoutCount  int            `json:"timeoutCount"`
		IntervalCount map[string]int `json:"intervalCount"`
		TotalRspTime  int64          `json:"totalRspTime"`
		MaxRspTime    int            `json:"maxRspTime"`
		MinRspTime    int            `json:"minRspTime"`
	} `json:"body"`
	FromClient bool `json:"fromClient"`
}

// peerProp is a reportPropMsg entry as the peer decoded it.
type peerProp struct {
	Head struct {
		ModuleName   string `json:"moduleName"`
		IP           string `json:"ip"`
		PropertyName string `json:"propertyName"`
		IPropertyVer int    `json:"iPropertyVer"`
	} `json:"head"`
	Body struct {
		VInfo []struct {
			Policy string `json:"policy"`
			Value  string `json:"value"`
		} `json:"vInfo"`
	} `json:"body"`
}

// interopInstalled reports whether the npm peers are installed.
func interopInstalled() bool {
	_, err := os.Stat(filepath.Join(interopDir, "node_modules", "@tars", "rpc"))
	return err == nil
}

func startStatPeer(t *testing.T) *statPeer {
	t.Helper()
	if !interopInstalled() {
		t.Skip("interop peers not installed: run `npm ci --prefix tars/testdata/interop` to test against @tars/rpc")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node_modules is installed but node is not on PATH: %v", err)
	}
	cmd := exec.Command(node, "--no-warnings", "stat-peer.js")
	cmd.Dir = interopDir
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan []byte, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			lines <- append([]byte(nil), sc.Bytes()...)
		}
	}()
	t.Cleanup(func() {
		stdin.Close() // the peer exits when its stdin closes
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		for range lines {
		}
	})
	var ports struct{ Stat, Property int }
	select {
	case l, ok := <-lines:
		if !ok || json.Unmarshal(l, &ports) != nil || ports.Stat == 0 {
			t.Fatalf("stat-peer.js did not start: %q", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("stat-peer.js did not listen within 30 s")
	}
	p := &statPeer{
		stat:     fmt.Sprintf("tars.tarsstat.StatObj@tcp -h 127.0.0.1 -p %d -t 3000", ports.Stat),
		property: fmt.Sprintf("tars.tarsproperty.PropertyObj@tcp -h 127.0.0.1 -p %d -t 3000", ports.Property),
		calls:    make(chan peerCall, 100),
	}
	go func() {
		defer close(p.calls)
		for l := range lines {
			var c peerCall
			if err := json.Unmarshal(l, &c); err != nil {
				c.Error = fmt.Sprintf("unreadable line %q: %v", l, err)
			}
			p.calls <- c
		}
	}()
	return p
}

// next returns the next call the peer received.
func (p *statPeer) next(t *testing.T) peerCall {
	t.Helper()
	select {
	case c, ok := <-p.calls:
		if !ok {
			t.Fatal("stat-peer.js exited")
		}
		if c.Error != "" {
			t.Fatalf("stat-peer.js: %s", c.Error)
		}
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("stat-peer.js received no call within 10 s")
	}
	return peerCall{}
}

// tcpSender is the least a TARS client needs to send one-way calls to a
// direct proxy: a TCP connection per endpoint and a framed RequestPacket.
// The agent uses package tars's client instead (see Sender).
type tcpSender struct {
	mu    sync.Mutex
	conns map[string]net.Conn
	id    int32
}

func (s *tcpSender) Invoke(ctx context.Context, obj, fn string, args tars.Struct, oneway bool) error {
	if !oneway {
		return fmt.Errorf("tcpSender sends one-way calls only")
	}
	p, err := tars.ParseProxy(obj)
	if err != nil {
		return err
	}
	if !p.Direct() {
		return fmt.Errorf("tcpSender: %s needs the locator", obj)
	}
	ep := p.Endpoints[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.conns[ep.Address()]
	if !ok {
		var d net.Dialer
		if c, err = d.DialContext(ctx, ep.Network(), ep.Address()); err != nil {
			return err
		}
		s.conns[ep.Address()] = c
	}
	s.id++
	if dl, ok := ctx.Deadline(); ok {
		c.SetWriteDeadline(dl)
	}
	return tars.WriteFrame(c, &tars.RequestPacket{
		IVersion: tars.VersionTARS, CPacketType: tars.PacketOneway, IRequestID: s.id,
		SServantName: p.Servant, SFuncName: fn, SBuffer: tars.Marshal(args),
		ITimeout: int32(ep.TimeoutOrDefault().Milliseconds()),
	})
}

func (s *tcpSender) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

func newTCPSender(t *testing.T) *tcpSender {
	s := &tcpSender{conns: map[string]net.Conn{}}
	t.Cleanup(s.close)
	return s
}

// collectReports reads calls from the peer until it has every row it
// expects: stat rows by interface, property rows by name.
func (p *statPeer) collectReports(t *testing.T, statRows, propRows int) (map[string]peerStat, map[string]peerProp) {
	t.Helper()
	stats, props := map[string]peerStat{}, map[string]peerProp{}
	for len(stats) < statRows || len(props) < propRows {
		c := p.next(t)
		if !c.Oneway {
			t.Fatalf("%s arrived as a normal call, want one-way", c.Func)
		}
		for _, raw := range c.Msg {
			switch c.Func {
			case tars.FuncReportMicMsg:
				var s peerStat
				if err := json.Unmarshal(raw, &s); err != nil {
					t.Fatal(err)
				}
				if _, dup := stats[s.Head.InterfaceName]; dup {
					t.Fatalf("interface %q reported twice", s.Head.InterfaceName)
				}
				stats[s.Head.InterfaceName] = s
			case tars.FuncReportPropMsg:
				var pr peerProp
				if err := json.Unmarshal(raw, &pr); err != nil {
					t.Fatal(err)
				}
				props[pr.Head.PropertyName] = pr
			}
		}
	}
	return stats, props
}

func TestInteropReportsReachTarsRPC(t *testing.T) {
	peer := startStatPeer(t)
	a := NewAggregator()
	var s wire.Stats
	for i := range 40 { // more than one call's worth of rows
		s.HTTP = append(s.HTTP, wire.HTTPStat{Interface: fmt.Sprintf("/api/items-%02d", i), Success: requests(uint64(i+1), 2, 20_000), Failure: requests(1, 0, 1000)})
	}
	a.Handle(0, 100, frame(t, wire.KindStats, s))
	a.Handle(1, 101, frame(t, wire.KindProperties, wire.Properties{
		Props: []wire.Property{{Name: "App.Server.queue", Policies: []string{"Max", "Avg", "Distr"}, Count: 4, Sum: 10, Min: 1, Max: 4,
			Ranges: []float64{2, 5}, Distr: []uint64{2, 2, 0}}},
		Runtime: &wire.Runtime{HeapUsed: 1 << 20, HeapTotal: 4 << 20, Goroutines: 8, GCPause: 0.001, SchedLatency: 0.0002},
	}))
	a.ObserveUsage(1, 101, 64<<20, 0.125)
	r := NewTarsReporter(a, newTCPSender(t), TarsOptions{Stat: peer.stat, Property: peer.property,
		ModuleName: "App.Server", LocalIP: "10.0.0.7", SlaveIP: "10.0.0.7", SlavePort: 8080})
	if err := r.Report(context.Background()); err != nil {
		t.Fatal(err)
	}
	stats, props := peer.collectReports(t, 40, 8)
	st := stats["/api/items-09"]
	if st.Head.MasterName != "http_client" || st.Head.SlaveName != "App.Server" || st.Head.SlaveIP != "10.0.0.7" || st.Head.SlavePort != 8080 || st.FromClient {
		t.Fatalf("stat head %+v fromClient %v", st.Head, st.FromClient)
	}
	if b := st.Body; b.Count != 10 || b.ExecCount != 1 || b.TimeoutCount != 0 || b.IntervalCount["50"] != 10 || b.TotalRspTime != 200 || b.MaxRspTime != 20 || b.MinRspTime != 20 {
		t.Fatalf("stat body %+v", b)
	}
	want := map[string]string{
		"App.Server.queue":      "Max=4 Avg=2.5 Distr=2|2,5|2",
		"App.Server.rss":        "Max=67108864 Min=67108864 Avg=67108864",
		"App.Server.cpuUsage":   "Max=12.5 Min=12.5 Avg=12.5",
		"App.Server.heapUsed":   "Max=1048576 Min=1048576 Avg=1048576",
		"App.Server.goroutines": "Max=8 Min=8 Avg=8",
		"App.Server.gcPause":    "Max=1 Min=1 Avg=1",
	}
	for name, w := range want {
		pr, ok := props[name]
		if !ok {
			t.Errorf("property %s not received", name)
			continue
		}
		got := ""
		for i, v := range pr.Body.VInfo {
			if i > 0 {
				got += " "
			}
			got += v.Policy + "=" + v.Value
		}
		if got != w || pr.Head.ModuleName != "App.Server" || pr.Head.IP != "10.0.0.7" || pr.Head.IPropertyVer != 2 {
			t.Errorf("%s: %q head %+v, want %q", name, got, pr.Head, w)
		}
	}
}
