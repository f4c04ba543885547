package agent

import "os"

// startSlots starts the worker of every slot not started yet, at Run's
// start. Between two starts it handles the events and signals already
// queued: a worker started first asks for its socket (and says hello and
// ready) while the others start, and with hundreds of workers on a loaded
// host the last start may come seconds after the first. Answered only
// after every start, those workers' Listen timed out and the exception
// limit stopped the agent. A stop request ends the starts.
func (s *Supervisor) startSlots(signals <-chan os.Signal) {
	for i := 0; i < len(s.slots) && !s.stopping; i++ { // events may scale the slots
		if sl := s.slots[i]; sl.w == nil && sl.next == nil && sl.pending == nil && sl.lastStart.IsZero() {
			s.startWorker(sl)
		}
		s.handleQueued(signals)
	}
}

// handleQueued handles the events and signals waiting now, without
// waiting for more.
func (s *Supervisor) handleQueued(signals <-chan os.Signal) {
	for {
		select {
		case ev := <-s.events:
			s.handle(ev)
		case sig := <-signals:
			s.handle(signalled{sig})
		default:
			return
		}
	}
}
