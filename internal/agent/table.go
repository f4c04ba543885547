package agent

// table is the worker table: the slots (WORKER_IDs), each with its current
// worker and, while one starts, its replacement; and the old workers, that
// left their slot (replaced, scaled away, given up) and still run. The run
// loop owns it; the other parts read it through these methods.
type table struct {
	slots []*slot
	old   map[proc]*worker
}

// each calls f for every running worker: current, replacements and old.
func (t *table) each(f func(w *worker)) {
	for _, sl := range t.slots {
		sl.workers(f)
	}
	for _, w := range t.old {
		f(w)
	}
}

// alive counts the worker processes still running.
func (t *table) alive() int {
	n := 0
	t.each(func(*worker) { n++ })
	return n
}

// find returns the worker of p, in a slot or among the old ones.
func (t *table) find(p proc) *worker {
	var found *worker
	t.each(func(w *worker) {
		if w.p == p {
			found = w
		}
	})
	return found
}

// slotOf returns the slot w belongs to, or nil when w left its slot (an
// old worker, or its slot was scaled away).
func (t *table) slotOf(w *worker) *slot {
	if w.slot >= len(t.slots) {
		return nil
	}
	sl := t.slots[w.slot]
	if sl.w != w && sl.next != w {
		return nil
	}
	return sl
}

// slot returns the slot id, or nil when it was scaled away.
func (t *table) slot(id int) *slot {
	if id < 0 || id >= len(t.slots) {
		return nil
	}
	return t.slots[id]
}

// grow adds empty slots up to n and returns them.
func (t *table) grow(n int) []*slot {
	var added []*slot
	for i := len(t.slots); i < n; i++ {
		sl := &slot{id: i}
		t.slots = append(t.slots, sl)
		added = append(added, sl)
	}
	return added
}

// shrink removes the slots from n up and returns them, highest first;
// their workers are the caller's to stop.
func (t *table) shrink(n int) []*slot {
	var removed []*slot
	for i := len(t.slots) - 1; i >= n; i-- {
		removed = append(removed, t.slots[i])
	}
	t.slots = t.slots[:n]
	return removed
}

// leave keeps w, which left its slot, among the old workers until it exits.
func (t *table) leave(w *worker) { t.old[w.p] = w }

// gone forgets an old worker that exited.
func (t *table) gone(w *worker) { delete(t.old, w.p) }
