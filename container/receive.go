package container

import (
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
		case wire.KindListenResult:
			w.deliverListen(m)
		default:
			for _, f := range m.Files {
				f.Close()
			}
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

func (w *Worker) deliverListen(m wire.Message) {
	var r wire.ListenResult
	if m.Decode(&r) != nil {
		for _, f := range m.Files {
			f.Close()
		}
		return
	}
	w.mu.Lock()
	ch, ok := w.pending[r.ID]
	delete(w.pending, r.ID)
	w.mu.Unlock()
	if !ok {
		for _, f := range m.Files {
			f.Close()
		}
		return
	}
	ch <- m // buffered: the waiter may have given up
}

// failPending wakes every Listen waiting for an answer that cannot come.
func (w *Worker) failPending() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, ch := range w.pending {
		close(ch)
		delete(w.pending, id)
	}
}
