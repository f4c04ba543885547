package monitor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
	"github.com/nodeagent/node-agent/tars"
	"github.com/nodeagent/node-agent/tars/tarstest"
)

// The interop tests send reports to a StatF/PropertyF server built on the
// real @tars/rpc (tars/testdata/interop/stat-peer.js, run by package
// tarstest) through the agent's sender, tars.Client. Without the npm peers
// (npm ci --prefix tars/testdata/interop) they skip.

// interopInstalled reports whether the npm peers are installed.
func interopInstalled() bool {
	_, err := os.Stat(filepath.Join(tarstest.InteropDir(), "node_modules", "@tars", "rpc"))
	return err == nil
}

// clientSender is the agent's sender, closed when t ends.
func clientSender(t *testing.T) *ClientSender {
	s := NewClientSender(tars.ClientOptions{})
	t.Cleanup(s.Close)
	return s
}

func TestInteropReportsReachTarsRPC(t *testing.T) {
	peer := tarstest.StartStatPeer(t)
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
	r := NewTarsReporter(a, clientSender(t), TarsOptions{Stat: peer.Stat, Property: peer.Property,
		ModuleName: "App.Server", LocalIP: "10.0.0.7", SlaveIP: "10.0.0.7", SlavePort: 8080})
	if err := r.Report(context.Background()); err != nil {
		t.Fatal(err)
	}
	stats, props := peer.Collect(t, 40, 8, 10*time.Second)
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
		if got := pr.Policies(); got != w || pr.Head.ModuleName != "App.Server" || pr.Head.IP != "10.0.0.7" || pr.Head.IPropertyVer != 2 {
			t.Errorf("%s: %q head %+v, want %q", name, pr.Policies(), pr.Head, w)
		}
	}
}
