package agent

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/container"
	"github.com/nodeagent/node-agent/internal/agent/config"
)

// TestPackerSizesTheActiveSet walks a packer through light load, a backlog,
// CPU load, saturation and quiet, with 16 ready slots and a floor of 2.
func TestPackerSizesTheActiveSet(t *testing.T) {
	p := newPacker(2, 3)
	const ready = 16
	type step struct {
		name string
		load activeLoad
		want int // active slots after the look
	}
	light := func(active int) activeLoad { return activeLoad{active: active, cpu: 10} }
	steps := []step{
		{"start at the floor", light(2), 2},
		{"one slot behind is no busy set", activeLoad{active: 2, backlogged: 1, cpu: 10}, 2},
		{"every slot behind doubles", activeLoad{active: 2, backlogged: 2, cpu: 10}, 4},
		{"busy CPU doubles", activeLoad{active: 4, cpu: 4 * packBusyCPU}, 8},
		{"still busy", activeLoad{active: 8, backlogged: 8, cpu: 100}, 16},
		{"saturated: every ready slot, no more", activeLoad{active: 16, backlogged: 16, cpu: 200}, 16},
		{"quiet 1", light(16), 16},
		{"quiet 2", light(16), 16},
		{"quiet 3 halves", light(16), 8},
		{"half of them behind breaks the quiet", activeLoad{active: 8, backlogged: 4, cpu: 10}, 8},
		{"a few behind is still quiet: 1", activeLoad{active: 8, backlogged: 3, cpu: 10}, 8},
		{"too much CPU for half of them is not quiet", activeLoad{active: 8, cpu: packBusyCPU / 2 * 4}, 8},
		{"quiet 1", light(8), 8},
		{"quiet 2", light(8), 8},
		{"quiet 3 halves", light(8), 4},
		{"quiet 1", light(4), 4},
		{"quiet 2", light(4), 4},
		{"quiet 3 halves to the floor", light(4), 2},
		{"quiet 1 at the floor", light(2), 2},
		{"quiet 2 at the floor", light(2), 2},
		{"quiet 3 at the floor: stays", light(2), 2},
	}
	for i, s := range steps {
		p.observe(s.load, ready)
		if got := p.count(ready); got != s.want {
			t.Fatalf("step %d (%s): %d active, want %d", i, s.name, got, s.want)
		}
	}
	if got := p.count(1); got != 1 {
		t.Errorf("one ready slot: %d active", got)
	}
	if got := p.count(0); got != 0 {
		t.Errorf("none ready: %d active", got)
	}
}

// TestPackerFollowsTheReadySlots: the set is capped at the ready slots
// (a crash, a scale down), grows into slots added by a scale up only when
// busy, and never doubles past the ready slots.
func TestPackerFollowsTheReadySlots(t *testing.T) {
	p := newPacker(2, 10)
	busy := activeLoad{active: 2, backlogged: 2}
	if c, ok := p.observe(busy, 3); !ok || c.from != 2 || c.to != 3 || c.ready != 3 {
		t.Fatalf("busy with 3 ready: %+v %v, want 2 → 3", c, ok)
	}
	if got := p.count(2); got != 2 {
		t.Errorf("a slot crashed: %d active of 2 ready", got)
	}
	if got := p.count(8); got != 3 {
		t.Errorf("scaled up to 8, not busy: %d active, want 3", got)
	}
	if c, ok := p.observe(activeLoad{active: 3, cpu: 3 * packBusyCPU}, 8); !ok || c.to != 6 {
		t.Fatalf("busy with 8 ready: %+v %v, want 3 → 6", c, ok)
	}
	if _, ok := p.observe(activeLoad{active: 1, backlogged: 1}, 1); ok {
		t.Error("busy with one ready slot: nothing to grow into, yet a change")
	}
}

func init() {
	// slow-accept: serves like "serve", but takes at most one new
	// connection per 20 ms, so several close-per-request clients at once
	// keep connections waiting in its accept queue: the backlog that
	// makes the agent widen the active set.
	helpers["slow-accept"] = func() int {
		w, err := container.Open()
		if err != nil {
			return 5
		}
		defer w.Close()
		ln, err := w.Listen("tcp", "")
		if err != nil {
			return 6
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(rw, "%d %d", w.WorkerID(), os.Getpid())
		})}
		if err := w.Serve(srv, slowListener{ln}, container.DrainOptions{}); err != nil {
			return 7
		}
		return 0
	}
}

// slowListener takes 20 ms over each accept, after taking the connection
// off the queue: one client at a time never finds a queue, several do.
type slowListener struct{ net.Listener }

func (l slowListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	time.Sleep(20 * time.Millisecond)
	return c, err
}

// TestPackingGrowsWhenBusyAndShrinksWhenIdle: with a floor of one slot,
// light load goes to slot 0 only; a backlog widens the set until every
// worker answers, with nothing failed; once the load stops, the set
// shrinks back to slot 0.
func TestPackingGrowsWhenBusyAndShrinksWhenIdle(t *testing.T) {
	requireSteering(t)
	cfg := testConfig(4, "slow-accept")
	cfg.HTTPAddress = freeAddr(t)
	cfg.Steering = config.SteeringPack
	r := runWith(t, cfg, func(s *Supervisor) { s.sockets.packFloor, s.sockets.packQuiet = 1, 2 })
	for i := 0; i < 4; i++ {
		r.waitLine(`worker \d \(pid \d+\) ready`)
	}
	onlySlot0 := func(when string) {
		t.Helper()
		for i := 0; i < 20; i++ {
			if slot, _, err := getWithin(cfg.HTTPAddress, 10*time.Second); err != nil || slot != 0 {
				t.Fatalf("%s, request %d: slot %d, %v; want slot 0 alone", when, i, slot, err)
			}
		}
	}
	onlySlot0("light load")

	l := startLoad(t, cfg.HTTPAddress, 8)
	r.waitLine(`new connections on tcp \S+ go to 2 of the 4 ready workers, were 1 \(busy: connections waiting on each`)
	r.waitLine(`new connections on tcp \S+ go to [34] of the [34] ready workers, were 2 \(busy`)
	for slot, pid := range r.currentPIDs() {
		if !poll(30*time.Second, func() bool { return l.answeredBy(pid) > 0 }) {
			t.Fatalf("under load, worker %d (pid %d) answered nothing: %v", slot, pid, l.pids)
		}
	}
	l.finishClean(t, "while the active set grew")
	t.Logf("%d requests, 0 failed, by pid %v", l.total.Load(), l.pids)

	r.waitLine(`new connections on tcp \S+ go to 1 of the 4 ready workers, were 2 \(quiet for 2 looks`)
	onlySlot0("after the load")
	for _, line := range r.seen {
		if strings.Contains(line, "connections") {
			t.Log(line)
		}
	}
}
