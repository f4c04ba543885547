package container

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
)

// receive dispatches the agent's frames until the channel ends. The end of
// the channel while the worker is open means the agent died: Done closes
// and, after OrphanGrace, the process is killed.
func (w *Worker) receive() {
	defer w.wg.Done()
	for {
		m, err := w.conn.Receive()
		if err != nil {
			w.failPending()
			select {
			case <-w.closed:
			default:
				w.agentGone()
			}
			return
		}
		switch m.Kind {
		case wire.KindStop:
			w.stop()
		case wire.KindCommand:
			var c wire.Command
			if m.Decode(&c) == nil {
				w.wg.Add(1)
				go w.answer(c)
			}
		case wire.KindListenResult, wire.KindAddConfigResult:
			w.deliver(m)
		default:
			closeFiles(m)
		}
	}
}

// agentGone handles the death of the agent.
func (w *Worker) agentGone() {
	w.stop()
	if w.orphaned != nil {
		w.orphaned()
		return
	}
	go func() {
		select {
		case <-w.closed:
		case <-time.After(OrphanGrace):
		}
		// The agent is gone: nobody supervises this process any more and
		// its shared socket would outlive the service. Exit for sure.
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}()
}

func (w *Worker) answer(c wire.Command) {
	defer w.wg.Done()
	text, err := w.dispatch(c.Cmd, c.Data)
	r := wire.Reply{ID: c.ID, Text: text}
	if err != nil {
		r.Error = err.Error()
	}
	w.send(wire.KindReply, r)
}

// deliver hands an answer to the request waiting for it (request); an
// answer nobody waits for any more is dropped with its descriptors.
func (w *Worker) deliver(m wire.Message) {
	var r struct {
		ID uint64 `json:"id"`
	}
	if m.Decode(&r) != nil {
		closeFiles(m)
		return
	}
	w.mu.Lock()
	ch, ok := w.pending[r.ID]
	delete(w.pending, r.ID)
	w.mu.Unlock()
	if !ok {
		closeFiles(m)
		return
	}
	ch <- m // buffered: the waiter may have given up
}

func closeFiles(m wire.Message) {
	for _, f := range m.Files {
		f.Close()
	}
}

// request sends the request body of kind k, identified by id, and waits
// at most timeout for the agent's answer of the same id. Errors: the
// channel broke (ErrClosed when the worker closed or the agent went), the
// agent did not answer in time (an agent too old to know k never does).
func (w *Worker) request(k wire.Kind, id uint64, body any, timeout time.Duration) (wire.Message, error) {
	answer := make(chan wire.Message, 1)
	w.mu.Lock()
	w.pending[id] = answer
	w.mu.Unlock()
	forget := func() {
		w.mu.Lock()
		delete(w.pending, id)
		w.mu.Unlock()
	}
	if err := w.send(k, body); err != nil {
		forget()
		return wire.Message{}, fmt.Errorf("asking the agent: %w", err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case m, ok := <-answer:
		if !ok {
			return wire.Message{}, ErrClosed
		}
		return m, nil
	case <-timer.C:
		forget()
		return wire.Message{}, fmt.Errorf("the agent did not answer within %v", timeout)
	}
}

// failPending wakes every request (Listen, AddConfig) waiting for an
// answer that cannot come.
func (w *Worker) failPending() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, ch := range w.pending {
		close(ch)
		delete(w.pending, id)
	}
}
