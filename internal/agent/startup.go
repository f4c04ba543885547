package agent

import "os"

// startBatch is how many workers startSlots forks in one go before it
// handles what the started ones sent.
const startBatch = 16

// startSlots starts the worker of every slot not started yet, at Run's
// start, startBatch at a time (see osStarter.startMany). Between two
// batches it handles the events and signals already queued: the workers
// started first ask for their socket (and say hello and ready) while the
// others start, and with hundreds of workers on a loaded host the last
// start may come seconds after the first. Answered only after every start,
// those workers' Listen timed out and the exception limit stopped the
// agent. A stop request ends the starts.
func (s *Supervisor) startSlots(signals <-chan os.Signal) {
	for i := 0; i < len(s.table.slots) && !s.stopping; { // events may scale the slots
		var batch []*slot
		for ; i < len(s.table.slots) && len(batch) < startBatch; i++ {
			if sl := s.table.slots[i]; sl.w == nil && sl.next == nil && sl.pending == nil && sl.lastStart.IsZero() {
				batch = append(batch, sl)
			}
		}
		s.startSlotBatch(batch)
		s.handleOwnEvents() // a failed start is handled before what came in meanwhile
		s.handleQueued(signals)
	}
}

// startSlotBatch starts the workers of the empty slots of batch.
func (s *Supervisor) startSlotBatch(batch []*slot) {
	if s.sys.startMany == nil {
		for _, sl := range batch {
			s.startWorker(sl)
		}
		return
	}
	specs := make([]procSpec, len(batch))
	for i, sl := range batch {
		specs[i] = s.workerSpec(sl)
	}
	procs, errs := s.sys.startMany(specs, s.post)
	for i, sl := range batch {
		w, err := s.startedWorker(sl, procs[i], errs[i])
		s.placeWorker(sl, w, err)
		if w != nil && s.stopping { // an exception of this batch stopped the agent
			s.stop(w, causeShutdown)
		}
	}
}

// handleQueued handles the events and signals waiting now, without
// waiting for more.
func (s *Supervisor) handleQueued(signals <-chan os.Signal) {
	for {
		select {
		case ev := <-s.events:
			s.process(ev)
		case sig := <-signals:
			s.process(signalled{sig})
		default:
			return
		}
	}
}
