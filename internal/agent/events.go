package agent

import (
	"os"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
)

// event is anything the run loop reacts to. Events are posted by the
// goroutines of processes and timers, and consumed by the run loop only.
type event interface{}

// procMessage is a frame a worker sent on its channel.
type procMessage struct {
	p   proc
	msg wire.Message
}

// procExited says a worker process ended; every message it sent before
// was posted earlier.
type procExited struct {
	p      proc
	status exitStatus
}

// restartDue fires when a slot may start its replacement worker.
type restartDue struct{ slot int }

// killDue fires when a stopping worker's graceful time is over.
type killDue struct{ w *worker }

// signalled carries a signal the agent received.
type signalled struct{ sig os.Signal }

// syncEvent is closed by the run loop when handled: every event posted
// before it has been handled too. Tests use it to wait for the loop.
type syncEvent struct{ done chan struct{} }

// keepaliveDue fires when the heartbeats are due for a check.
type keepaliveDue struct{}

// adminRequest is an admin command (SPEC §10) waiting for its reply.
type adminRequest struct {
	cmd, data string
	reply     chan<- adminAnswer // buffered, or nil: the run loop never blocks on it
	// within bounds the gather of a forwarded command (gatherWithin).
	within time.Duration
}

// adminAnswer is the outcome of an admin command: its reply, or an error.
type adminAnswer struct {
	text string
	err  error
}

// answer sends the outcome to the request's caller, if it has one.
func (r adminRequest) answer(text string, err error) {
	if r.reply != nil {
		r.reply <- adminAnswer{text, err}
	}
}

// statusRequest asks for a snapshot of the worker table.
type statusRequest struct{ reply chan<- Status }

// gatherDue fires when a forwarded command's reply deadline is over.
type gatherDue struct{ g *gather }

// readyDue fires when a starting worker's time to become ready is over.
type readyDue struct{ w *worker }

// sampleDue fires when the workers' resource usage is due for a sample.
type sampleDue struct{}

// usageSampled carries a resource sample, by pid.
type usageSampled struct{ usage map[int]usage }

// watchdogDue fires when the systemd watchdog is due for a ping.
type watchdogDue struct{}

// shutdownRequest asks for the graceful shutdown (AdminF.shutdown); unlike
// a second signal, a second request does not kill the workers at once.
type shutdownRequest struct{}
