package provider

import "math"

// timeoutWindow is the outcome of a breaker's last calls, timeout or not,
// in a ring: the timeout-rate trigger of Breaker.
type timeoutWindow struct {
	timedOut []bool // ring of the last len(timedOut) outcomes
	next     int    // where the next outcome goes
	n        int    // outcomes held, up to len(timedOut)
	timeouts int    // true entries among them
	trip     int    // timeouts in a full window that open the breaker
}

// newTimeoutWindow returns a window of size calls that trips at rate
// (0 < rate ≤ 1) of them, rounded up: rate 0.5 of 5 calls is 3 timeouts.
func newTimeoutWindow(size int, rate float64) timeoutWindow {
	trip := int(math.Ceil(rate*float64(size) - 1e-9)) // 0.3·10 is 3, not 3.0000000000000004
	return timeoutWindow{timedOut: make([]bool, size), trip: max(trip, 1)}
}

// add records one call's outcome, forgetting the oldest of a full window.
func (w *timeoutWindow) add(timedOut bool) {
	if w.n == len(w.timedOut) {
		if w.timedOut[w.next] {
			w.timeouts--
		}
	} else {
		w.n++
	}
	w.timedOut[w.next] = timedOut
	if timedOut {
		w.timeouts++
	}
	w.next = (w.next + 1) % len(w.timedOut)
}

// tripped reports whether the window is full and its timeouts reach the
// rate.
func (w *timeoutWindow) tripped() bool {
	return w.n == len(w.timedOut) && w.timeouts >= w.trip
}

// reset forgets every outcome.
func (w *timeoutWindow) reset() {
	clear(w.timedOut)
	w.next, w.n, w.timeouts = 0, 0, 0
}
