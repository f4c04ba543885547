package agent

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/internal/plural"
)

// agreement checks that agent.status, the /metrics table and the last
// systemd STATUS= line tell the same story, and that the agent's restarts
// are want.
func (fr *fakeRun) agreement(sd *fakeSystemd, lastStatus *string, want map[string]int) {
	fr.t.Helper()
	fr.sync()
	for _, m := range sd.drain() {
		if s, ok := strings.CutPrefix(m, "STATUS="); ok {
			*lastStatus = s
		}
	}
	st := fr.status()
	snap, err := fr.sup.snapshot(context.Background())
	if err != nil {
		fr.t.Fatal(err)
	}
	if !maps.Equal(st.Restarts, want) {
		fr.t.Fatalf("agent.status restarts %v, want %v", st.Restarts, want)
	}
	if snap.Exceptions != uint64(st.Exceptions) || len(snap.Reloads) != len(st.Reloads) {
		fr.t.Fatalf("metrics: %d exceptions, reloads %v; agent.status %d, %v", snap.Exceptions, snap.Reloads, st.Exceptions, st.Reloads)
	}
	for result, n := range st.Reloads {
		if snap.Reloads[result] != uint64(n) {
			fr.t.Fatalf("metrics reloads %v, agent.status %v", snap.Reloads, st.Reloads)
		}
	}
	total, perSlot := 0, 0
	for _, n := range st.Restarts {
		total += n
	}
	if len(snap.Workers) != len(st.Slots) || len(st.Slots) != st.Instances {
		fr.t.Fatalf("metrics has %d slots, agent.status %d (instances %d)", len(snap.Workers), len(st.Slots), st.Instances)
	}
	ready := 0
	for i, w := range snap.Workers {
		sl := st.Slots[i]
		if w.Slot != sl.ID || w.PID != sl.PID || w.State != sl.State || len(w.Restarts) != len(sl.Restarts) {
			fr.t.Fatalf("slot %d: metrics %+v, agent.status %+v", i, w, sl)
		}
		for reason, n := range sl.Restarts {
			if w.Restarts[reason] != uint64(n) {
				fr.t.Fatalf("slot %d restarts: metrics %v, agent.status %v", i, w.Restarts, sl.Restarts)
			}
			perSlot += n
		}
		if cur, ok := st.current(sl.ID); ok && cur.Restarts != sumRestarts(sl.Restarts) {
			fr.t.Fatalf("slot %d: worker says %d restarts, slot %v", i, cur.Restarts, sl.Restarts)
		}
		if w.State == Ready.String() {
			ready++
		}
	}
	if snap.Exceptions != uint64(st.Exceptions) || ready != st.Ready() {
		fr.t.Fatalf("metrics: %d exceptions, %d ready; agent.status %d, %d", snap.Exceptions, ready, st.Exceptions, st.Ready())
	}
	line := fmt.Sprintf("%d/%s ready, %d restart", ready, plural.Workers(st.Instances), total)
	if !strings.HasPrefix(*lastStatus, line) {
		fr.t.Fatalf("STATUS=%s, want %s… (agent.status restarts %v, slots %d)", *lastStatus, line, st.Restarts, perSlot)
	}
}

func sumRestarts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestFakeStatusAgrees: after a crash, a rolling reload, a memory restart,
// a scale up and a scale down, agent.status, /metrics and STATUS= give the
// same workers, states and restart counts (one snapshot feeds all three).
func TestFakeStatusAgrees(t *testing.T) {
	sd := &fakeSystemd{msgs: make(chan string, 1000)}
	fr, ps := startReady(t, 2, func(s *Supervisor) {
		s.sys.sd = sd
		s.cfg.MaxMemoryRestart = 64 << 20
		s.policy.window.max = 100
	})
	var last string
	fr.agreement(sd, &last, map[string]int{})

	// A crash: restarted at once.
	fr.exit(ps[1], 3)
	c := fr.started()
	fr.readyLinked(c)
	fr.agreement(sd, &last, map[string]int{"crash": 1})

	// A rolling reload of both slots.
	reply := fr.notifyAsync("agent.reload")
	r0 := fr.started()
	fr.readyLinked(r0)
	r1 := fr.started()
	fr.readyLinked(r1)
	if got := <-reply; !strings.HasPrefix(got, "ok: reloaded 2 workers") {
		t.Fatalf("reload: %q", got)
	}
	fr.exit(ps[0], 0)
	fr.exit(c, 0)
	fr.agreement(sd, &last, map[string]int{"crash": 1, "reload": 2})
	if st := fr.status(); st.Reloads["ok"] != 1 {
		t.Fatalf("reloads %v after one reload", st.Reloads)
	}

	// A memory restart: replaced first, then the old one exits.
	fr.os.post(usageSampled{map[int]usage{r0.pid: {RSS: 80 << 20}}})
	m0 := fr.started()
	fr.readyLinked(m0)
	fr.exit(r0, 0)
	fr.agreement(sd, &last, map[string]int{"crash": 1, "reload": 2, "memory": 1})
	if st := fr.status(); st.Exceptions != 2 {
		t.Fatalf("%d exceptions after a crash and a memory restart", st.Exceptions)
	}

	// Scale up, then down past a slot that restarted: the agent keeps
	// counting the restarts of slots scaled away.
	if got := fr.notify("agent.scale 3"); !strings.HasPrefix(got, "ok") {
		t.Fatalf("scale: %q", got)
	}
	s2 := fr.started()
	fr.readyLinked(s2)
	fr.agreement(sd, &last, map[string]int{"crash": 1, "reload": 2, "memory": 1})
	if got := fr.notify("agent.scale 1"); !strings.HasPrefix(got, "ok") {
		t.Fatalf("scale: %q", got)
	}
	fr.exit(r1, 0)
	fr.exit(s2, 0)
	fr.agreement(sd, &last, map[string]int{"crash": 1, "reload": 2, "memory": 1})
	if last != "1/1 worker ready, 4 restarts" {
		t.Fatalf("STATUS=%s after scaling down", last)
	}
	fr.clock.Advance(time.Second)
	fr.stop(m0)
}
