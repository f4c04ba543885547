package container_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/nodeagent/node-agent/container"
	"github.com/nodeagent/node-agent/container/wire"
)

func TestPropertyPoliciesAggregate(t *testing.T) {
	a := newStatsAgent(t, monitorOn)
	p, err := a.w.Property("App.Server.queueDepth", container.Max, container.Min, container.Count, container.Sum, container.Avg, container.Distr(2, 5))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []float64{1, 2, 3, 10, math.NaN(), math.Inf(1)} {
		p.Report(v)
	}
	idle, err := a.w.Property("App.Server.idle", container.Max)
	if err != nil {
		t.Fatal(err)
	}
	_ = idle // never reported: not sent
	a.finish()
	got, ok := a.props["App.Server.queueDepth"]
	if !ok {
		t.Fatalf("property not received: %v", a.props)
	}
	want := wire.Property{
		Name: "App.Server.queueDepth", Policies: []string{"Max", "Min", "Count", "Sum", "Avg", "Distr"},
		Count: 4, Sum: 16, Min: 1, Max: 10, Ranges: []float64{2, 5}, Distr: []uint64{2, 1, 1},
	}
	if fmt.Sprint(*got) != fmt.Sprint(want) {
		t.Fatalf("got  %+v\nwant %+v", *got, want)
	}
	if _, ok := a.props["App.Server.idle"]; ok {
		t.Fatal("a property without values was sent")
	}
}

func TestPropertyValuesAreDeltasAcrossFlushes(t *testing.T) {
	a := newStatsAgent(t, monitorOn)
	p, err := a.w.Property("x", container.Sum, container.Count)
	if err != nil {
		t.Fatal(err)
	}
	p.Report(5)
	a.finish() // flushes; later reports would go nowhere
	p.Report(7)
	if got := a.props["x"]; got.Count != 1 || got.Sum != 5 {
		t.Fatalf("got %+v, want one value 5", got)
	}
}

func TestPropertyDefinitionErrors(t *testing.T) {
	a := newStatsAgent(t, monitorOn)
	w := a.w
	p, err := w.Property("ok", container.Max, container.Distr(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	if again, err := w.Property("ok", container.Max, container.Distr(1, 2)); err != nil || again != p {
		t.Fatalf("same definition again: %v %v, want the same property", again, err)
	}
	cases := map[string][]container.Policy{
		"":                       {container.Max},
		strings.Repeat("n", 129): {container.Max},
		"no-policy":              nil,
		"zero-policy":            {{}},
		"empty-distr":            {container.Distr()},
		"descending":             {container.Distr(3, 1)},
		"nan-range":              {container.Distr(math.NaN())},
		"twice":                  {container.Max, container.Max},
		"two-distr":              {container.Distr(1), container.Distr(2)},
		"ok":                     {container.Min}, // redefined differently
		"bad-utf8-\xff":          {container.Max},
		"too-many-ranges":        {container.Distr(make([]float64, wire.MaxRanges+1)...)},
	}
	for name, pols := range cases {
		if _, err := w.Property(name, pols...); !errors.Is(err, container.ErrProperty) {
			t.Errorf("Property(%q, %v): %v, want ErrProperty", name, pols, err)
		}
	}
	for i := 1; i < wire.MaxProperties; i++ {
		if _, err := w.Property(fmt.Sprint("p", i), container.Count); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Property("one-too-many", container.Count); !errors.Is(err, container.ErrProperty) {
		t.Fatalf("property %d: %v, want ErrProperty", wire.MaxProperties+1, err)
	}
}

func TestPropertyOffDoesNothing(t *testing.T) {
	w, err := container.OpenWith(container.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p, err := w.Property("standalone", container.Avg)
	if err != nil || p.Name() != "standalone" {
		t.Fatal(p, err)
	}
	p.Report(1)
}

func TestRuntimeSampleSent(t *testing.T) {
	a := newStatsAgent(t, monitorOn)
	a.finish()
	if len(a.runtime) == 0 {
		t.Fatal("no runtime sample with the last flush")
	}
	rt := a.runtime[len(a.runtime)-1]
	if rt.HeapUsed == 0 || rt.HeapTotal < rt.HeapUsed || rt.Goroutines == 0 || rt.GCPause < 0 || rt.SchedLatency < 0 {
		t.Fatalf("implausible runtime sample %+v", rt)
	}
}

func TestFlushLoopSendsPeriodically(t *testing.T) {
	opts := monitorOn
	opts.Flush = 5e6 // 5 ms
	a := newStatsAgent(t, opts)
	a.waitProps(3) // three flushes without any Close
	if !slices.ContainsFunc(a.runtimeCopy(), func(rt wire.Runtime) bool { return rt.Goroutines > 0 }) {
		t.Fatal("periodic flushes carry no runtime sample")
	}
}

func (a *statsAgent) runtimeCopy() []wire.Runtime {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.runtime)
}

func TestPropertyReportAllocatesNothing(t *testing.T) {
	a := newStatsAgent(t, monitorOn)
	p, err := a.w.Property("p", container.Max, container.Avg, container.Distr(1, 10, 100))
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() { p.Report(42) }); n != 0 {
		t.Fatalf("Report allocates %v times", n)
	}
}

func BenchmarkPropertyReport(b *testing.B) {
	p, err := silentWorker(b).Property("p", container.Max, container.Avg, container.Distr(1, 10, 100))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for v := 0.0; pb.Next(); v++ {
			p.Report(v)
		}
	})
}
