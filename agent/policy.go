package agent

import "time"

// minRestartInterval is the shortest time between two starts in one slot
// after the first restart (SPEC §6).
const minRestartInterval = 100 * time.Millisecond

// exceptionWindow counts exceptions (unrequested worker exits) in a fixed
// window that opens at the first exception and lasts span; after it closes
// the count starts again. It is a pure value: the run loop owns it.
type exceptionWindow struct {
	max    int
	span   time.Duration
	opened time.Time
	count  int
}

// record counts an exception at now and reports whether the limit is
// reached. A max of 0 or 1 makes the first exception fatal.
func (e *exceptionWindow) record(now time.Time) (count int, limit bool) {
	if e.count == 0 || now.Sub(e.opened) >= e.span {
		e.opened, e.count = now, 0
	}
	e.count++
	return e.count, e.count >= max(e.max, 1)
}

// restartDelay is how long a slot waits before starting a replacement:
// nothing for the first restart, then at least minRestartInterval after
// the slot's previous start.
func restartDelay(s *slot, now time.Time) time.Duration {
	if s.restarts == 0 || s.lastStart.IsZero() {
		return 0
	}
	if d := s.lastStart.Add(minRestartInterval).Sub(now); d > 0 {
		return d
	}
	return 0
}
