package notify

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/tars"
	"github.com/nodeagent/node-agent/tars/tarstest"
)

// The interop test runs a fake control node made of real @tars/rpc servers
// (tars/testdata/interop/tarsnode.js, through package tarstest).

func endpoint(port int) string {
	return tars.Endpoint{Protocol: "tcp", Host: "127.0.0.1", Port: port, Timeout: 60 * time.Second}.String()
}

// TestInteropControlNode: our reporter and alarms against real @tars/rpc
// servers: reportVersion once, keepAlive at the period with the agent's
// identity, the notify servant found through the registry (QueryF) and
// the alarms' fields as a TARS peer decodes them.
func TestInteropControlNode(t *testing.T) {
	p := tarstest.StartControlNode(t)
	const period = 100 * time.Millisecond
	r, err := StartNodeReporter(NodeConfig{Node: tars.ServantNode + "@" + endpoint(p.Ports.Node),
		App: "Sms", Server: "Gateway", Pid: 4242, Version: "0.9.1", Period: period})
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAlarms(AlarmConfig{Locator: tars.ServantQuery + "@" + endpoint(p.Ports.Query),
		App: "Sms", Server: "Gateway", Set: "sz.a.1", NodeName: "10.0.0.5"})
	if err != nil {
		t.Fatal(err)
	}
	a.Report("", "restart")
	a.Report("777", "[alarm] detected zombie worker.")

	type serverInfo struct {
		Application, ServerName, Adapter string
		Pid                              int
	}
	type reportInfo struct {
		EType                                                           int
		SApp, SSet, SContainer, SServer, SMessage, SThreadId, SNodeName string
		ELevel                                                          int
	}
	var versions, lookups int
	var alive []int64
	var alarms []reportInfo
	for len(alive) < 6 || len(alarms) < 2 {
		c := p.Next(t)
		switch c.Servant + "." + c.Fn {
		case "tars.tarsnode.ServerObj.reportVersion":
			versions++
			var v struct{ App, ServerName, Version string }
			if json.Unmarshal(c.Args, &v); v.App != "Sms" || v.ServerName != "Gateway" || v.Version != "0.9.1" || len(alive) > 0 {
				t.Fatalf("reportVersion %s (after %d keepAlives)", c.Args, len(alive))
			}
		case "tars.tarsnode.ServerObj.keepAlive":
			var s serverInfo
			if json.Unmarshal(c.Args, &s); s != (serverInfo{"Sms", "Gateway", "", 4242}) {
				t.Fatalf("keepAlive %s", c.Args)
			}
			alive = append(alive, c.T)
		case "tars.tarsregistry.QueryObj.findObjectByIdInSameSet":
			lookups++
			if string(c.Args) != `{"id":"tars.tarsnotify.NotifyObj","setId":"sz.a.1"}` || c.Context["node_name"] != "10.0.0.5" {
				t.Fatalf("findObjectByIdInSameSet %s, context %v", c.Args, c.Context)
			}
		case "tars.tarsnotify.NotifyObj.reportNotifyInfo":
			var ri reportInfo
			if err := json.Unmarshal(c.Args, &ri); err != nil {
				t.Fatal(err)
			}
			alarms = append(alarms, ri)
		default:
			t.Fatalf("unexpected call %+v", c)
		}
	}
	r.Close()
	if err := closeWithin(t, a, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if versions != 1 || lookups != 1 {
		t.Errorf("%d reportVersion, %d lookups", versions, lookups)
	}
	want := []reportInfo{
		{SApp: "Sms", SSet: "sz.a.1", SServer: "Gateway", SMessage: "restart", SNodeName: "10.0.0.5"},
		{SApp: "Sms", SSet: "sz.a.1", SServer: "Gateway", SMessage: "[alarm] detected zombie worker.", SThreadId: "777", ELevel: 2, SNodeName: "10.0.0.5"},
	}
	if !slices.Equal(alarms, want) {
		t.Errorf("alarms as @tars/rpc decoded them:\n got %+v\nwant %+v", alarms, want)
	}
	var gaps []int64
	for i := 1; i < len(alive); i++ {
		gaps = append(gaps, alive[i]-alive[i-1])
	}
	slices.Sort(gaps)
	if median := time.Duration(gaps[len(gaps)/2]) * time.Millisecond; median < period/2 || median > 3*period {
		t.Errorf("keepAlive every %v (gaps %v ms), want about %v", median, gaps, period)
	}
}
