package tarstest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

// StatPeer is stat-peer.js: a @tars/rpc server for tars.tarsstat.StatObj
// and tars.tarsproperty.PropertyObj that decodes every report it receives
// with the structs @tars/monitor generated.
type StatPeer struct {
	// Stat and Property are the direct proxies of its servants.
	Stat, Property string
	calls          chan StatCall
}

// StatCall is one call the peer received.
type StatCall struct {
	Servant string            `json:"servant"`
	Func    string            `json:"func"`
	Oneway  bool              `json:"oneway"`
	Error   string            `json:"error"`
	Msg     []json.RawMessage `json:"msg"`
}

// StatRow is a reportMicMsg entry as @tars/rpc decoded it.
type StatRow struct {
	Head struct {
		MasterName    string `json:"masterName"`
		SlaveName     string `json:"slaveName"`
		InterfaceName string `json:"interfaceName"`
		SlaveIP       string `json:"slaveIp"`
		SlavePort     int    `json:"slavePort"`
		SlaveSetName  string `json:"slaveSetName"`
		SlaveSetArea  string `json:"slaveSetArea"`
		SlaveSetID    string `json:"slaveSetID"`
		TarsVersion   string `json:"tarsVersion"`
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

// PropRow is a reportPropMsg entry as @tars/rpc decoded it.
type PropRow struct {
	Head struct {
		ModuleName   string `json:"moduleName"`
		IP           string `json:"ip"`
		PropertyName string `json:"propertyName"`
		IPropertyVer int    `json:"iPropertyVer"`
		SetName      string `json:"setName"`
		SetArea      string `json:"setArea"`
		SetID        string `json:"setID"`
	} `json:"head"`
	Body struct {
		VInfo []struct {
			Policy string `json:"policy"`
			Value  string `json:"value"`
		} `json:"vInfo"`
	} `json:"body"`
}

// StartStatPeer runs stat-peer.js until t ends.
func StartStatPeer(t testing.TB) *StatPeer {
	t.Helper()
	node := Node(t)
	cmd := exec.Command(node, "--no-warnings", "stat-peer.js")
	cmd.Dir = InteropDir()
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
	p := &StatPeer{
		Stat:     fmt.Sprintf("tars.tarsstat.StatObj@tcp -h 127.0.0.1 -p %d -t 3000", ports.Stat),
		Property: fmt.Sprintf("tars.tarsproperty.PropertyObj@tcp -h 127.0.0.1 -p %d -t 3000", ports.Property),
		calls:    make(chan StatCall, 100),
	}
	go func() {
		defer close(p.calls)
		for l := range lines {
			var c StatCall
			if err := json.Unmarshal(l, &c); err != nil {
				c.Error = fmt.Sprintf("unreadable line %q: %v", l, err)
			}
			p.calls <- c
		}
	}()
	return p
}

// Next returns the next call the peer received, failing t after within.
func (p *StatPeer) Next(t testing.TB, within time.Duration) StatCall {
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
	case <-time.After(within):
		t.Fatalf("stat-peer.js received no call within %v", within)
	}
	return StatCall{}
}

// Drain returns the calls the peer received until none came for quiet
// (a call it could not read fails t).
func (p *StatPeer) Drain(t testing.TB, quiet time.Duration) []StatCall {
	t.Helper()
	var calls []StatCall
	for {
		select {
		case c, ok := <-p.calls:
			if !ok {
				return calls
			}
			if c.Error != "" {
				t.Fatalf("stat-peer.js: %s", c.Error)
			}
			calls = append(calls, c)
		case <-time.After(quiet):
			return calls
		}
	}
}

// Collect reads calls until it has statRows stat rows (by interface) and
// propRows property rows (by name). A call that is not one-way, or an
// interface reported twice, fails t.
func (p *StatPeer) Collect(t testing.TB, statRows, propRows int, within time.Duration) (map[string]StatRow, map[string]PropRow) {
	t.Helper()
	stats, props := map[string]StatRow{}, map[string]PropRow{}
	for len(stats) < statRows || len(props) < propRows {
		c := p.Next(t, within)
		if !c.Oneway {
			t.Fatalf("%s arrived as a normal call, want one-way", c.Func)
		}
		for _, raw := range c.Msg {
			switch c.Func {
			case "reportMicMsg":
				var s StatRow
				if err := json.Unmarshal(raw, &s); err != nil {
					t.Fatal(err)
				}
				if _, dup := stats[s.Head.InterfaceName]; dup {
					t.Fatalf("interface %q reported twice", s.Head.InterfaceName)
				}
				stats[s.Head.InterfaceName] = s
			case "reportPropMsg":
				var pr PropRow
				if err := json.Unmarshal(raw, &pr); err != nil {
					t.Fatal(err)
				}
				props[pr.Head.PropertyName] = pr
			}
		}
	}
	return stats, props
}

// Policies renders a property row's values as "Max=4 Avg=2.5".
func (r PropRow) Policies() string {
	s := ""
	for i, v := range r.Body.VInfo {
		if i > 0 {
			s += " "
		}
		s += v.Policy + "=" + v.Value
	}
	return s
}
