package agent

import (
	"slices"
	"testing"
)

// TestSteerKeepsServingSlotsInPlace: through slots joining one at a time,
// leaving, and joining and leaving at once, the serving map always holds
// exactly the serving set, and a change rewrites one key per slot that
// joins or leaves, not one per serving slot (each write is a system call).
func TestSteerKeepsServingSlotsInPlace(t *testing.T) {
	requireSteering(t)
	st, err := newSteerer()
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()

	var sets [][]int
	for n := 1; n <= 64; n++ { // workers becoming ready, one by one
		sets = append(sets, seq(0, n))
	}
	sets = append(sets,
		slices.DeleteFunc(seq(0, 64), func(id int) bool { return id%3 == 0 }), // leaving
		[]int{1, 2, 4, 70, 71},          // most leave, two join
		[]int{1, 2, 4, 70, 71},          // unchanged
		[]int{},                         // none serving: the kernel's choice
		[]int{5},                        // one again
		append(seq(0, 5), seq(6, 9)...), // around the one that stayed
	)
	var prev []int
	for step, want := range sets {
		if err := st.steer(want); err != nil {
			t.Fatalf("step %d: steer %v: %v", step, want, err)
		}
		got := readServing(t, st)
		if sorted := slices.Sorted(slices.Values(got)); !slices.Equal(sorted, want) {
			t.Fatalf("step %d: the map serves %v, want %v", step, got, want)
		}
		changed := 0
		for i, id := range got {
			if i >= len(prev) || prev[i] != id {
				changed++
			}
		}
		if moved := len(diff(want, prev)) + len(diff(prev, want)); changed > moved {
			t.Errorf("step %d: %d keys changed from %v to %v, but only %d slots joined or left", step, changed, prev, got, moved)
		}
		prev = got
	}
}

// diff returns the ids of a that are not in b.
func diff(a, b []int) []int {
	return slices.DeleteFunc(slices.Clone(a), func(id int) bool { return slices.Contains(b, id) })
}

// readServing returns the serving slots the program reads, in key order.
func readServing(t *testing.T, st *steerer) []int {
	t.Helper()
	var n uint32
	if err := st.serving.Lookup(uint32(0), &n); err != nil {
		t.Fatal(err)
	}
	out := make([]int, n)
	for i := range out {
		var id uint32
		if err := st.serving.Lookup(uint32(i+1), &id); err != nil {
			t.Fatal(err)
		}
		out[i] = int(id)
	}
	return out
}

// seq returns from, from+1, …, to-1.
func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// TestSteerAfterHandover: a steerer taken over at an upgrade in place
// knows only what its predecessor wrote (current); steering the same set
// writes nothing, and a set one larger adds one entry, with no slot twice.
func TestSteerAfterHandover(t *testing.T) {
	requireSteering(t)
	st, err := newSteerer()
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	if err := st.steer(seq(0, 8)); err != nil {
		t.Fatal(err)
	}
	adopted := &steerer{prog: st.prog, sockets: st.sockets, serving: st.serving, current: slices.Clone(st.current)}
	for _, want := range [][]int{seq(0, 8), seq(0, 9), seq(1, 9)} {
		if err := adopted.steer(want); err != nil {
			t.Fatal(err)
		}
		if got := readServing(t, adopted); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
			t.Fatalf("after the hand-over, steering %v: the map serves %v", want, got)
		}
	}
}
