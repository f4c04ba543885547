package monitor

import (
	"context"
	"testing"

	"github.com/nodeagent/node-agent/container/wire"
	"github.com/prometheus/client_golang/prometheus"
)

// FuzzHandle feeds arbitrary bodies as stats and properties frames: the
// aggregator must not panic, and what it keeps must still export (valid
// label values, consistent histograms) and report.
func FuzzHandle(f *testing.F) {
	f.Add(uint8(wire.KindStats), []byte(`{"http":[{"if":"/a","ok":{"b":[1,0,0,0,0,0,0,0,0,2],"sum":9,"min":1,"max":5},"err":{"b":[0,0,0,0,0,0,0,0,0,0]}}]}`))
	f.Add(uint8(wire.KindProperties), []byte(`{"props":[{"name":"p","policies":["Distr","Max"],"count":3,"sum":6,"min":1,"max":3,"ranges":[1,2],"distr":[1,1,1]}],"runtime":{"heap_used":1,"goroutines":2,"gc_pause":0.001}}`))
	f.Add(uint8(wire.KindProperties), []byte(`{"props":[{"name":"p","policies":["Distr"],"count":1,"ranges":[2,1],"distr":[1]}]}`))
	f.Add(uint8(wire.KindStats), []byte(`{"http":[{"if":"\u00ff\ud800"}]}`))
	f.Add(uint8(wire.KindStats), []byte(`{"http":null}`))
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		a := NewAggregator()
		a.Handle(0, 1, wire.Message{Kind: wire.Kind(kind), Body: body})
		a.Handle(1, 2, wire.Message{Kind: wire.Kind(kind), Body: body}) // merging with itself
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(&collectorSet{timeout: DefaultCheckTimeout, list: []collector{statsCollector(a)}})
		if _, err := reg.Gather(); err != nil {
			t.Fatalf("export after %q: %v", body, err)
		}
		if err := NewTarsReporter(a, &fakeSender{}, TarsOptions{Stat: "s", Property: "p"}).Report(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}
