package agent

import (
	"fmt"
	"strings"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
)

// plainAnswer stands for a plain binary's answer: it has no channel.
const plainAnswer = "plain binary, no admin channel"

// defaultReplyTimeout bounds how long a forwarded command waits for the
// workers' answers.
const defaultReplyTimeout = 3 * time.Second

// gather is a command forwarded to every worker, collecting the answers
// until all came or the deadline passed (SPEC §10).
type gather struct {
	cmd   string
	reply chan<- string
	// summary turns the answers into the reply; nil lists them.
	summary  func(answers []*workerAnswer) string
	answers  []*workerAnswer // in slot order
	pending  map[uint64]*workerAnswer
	timer    timer
	finished bool
}

// workerAnswer is one worker's part of a gather.
type workerAnswer struct {
	slot, pid int
	text      string
	done      bool
}

// forward sends req to every running worker that is not stopping and
// replies once each answered, or at the deadline: summary(answers), or one
// line per worker when summary is nil.
func (s *Supervisor) forward(req adminRequest, summary func([]*workerAnswer) string) {
	g := &gather{cmd: req.cmd, reply: req.reply, summary: summary, pending: map[uint64]*workerAnswer{}}
	for _, sl := range s.slots {
		sl.workers(func(w *worker) {
			if w.state == Stopping {
				return
			}
			a := &workerAnswer{slot: w.slot, pid: w.p.PID()}
			g.answers = append(g.answers, a)
			if !w.linked {
				a.text, a.done = plainAnswer, true
				return
			}
			s.nextCmdID++
			id := s.nextCmdID
			if err := w.p.Send(wire.KindCommand, wire.Command{ID: id, Cmd: req.cmd, Data: req.data}); err != nil {
				a.text, a.done = "unreachable: "+err.Error(), true
				return
			}
			g.pending[id] = a
			s.gathers[id] = g
		})
	}
	if len(g.pending) == 0 {
		s.finishGather(g)
		return
	}
	g.timer = s.clock.AfterFunc(s.replyTimeout, func() { s.post(gatherDue{g}) })
}

// onReply records a worker's answer to a forwarded command.
func (s *Supervisor) onReply(w *worker, r wire.Reply) {
	g, ok := s.gathers[r.ID]
	if !ok {
		return // late: the gather is over
	}
	a := g.pending[r.ID]
	if a.pid != w.p.PID() {
		return // not the worker it was sent to
	}
	delete(s.gathers, r.ID)
	delete(g.pending, r.ID)
	a.text, a.done = r.Text, true
	if len(g.pending) == 0 {
		s.finishGather(g)
	}
}

// workerGone settles what a worker that exited still owed: its answers.
func (s *Supervisor) workerGone(w *worker, st exitStatus) {
	for id, g := range s.gathers {
		if a := g.pending[id]; a.pid == w.p.PID() {
			delete(s.gathers, id)
			delete(g.pending, id)
			a.text, a.done = "exited with "+st.String()+" before replying", true
			if len(g.pending) == 0 {
				s.finishGather(g)
			}
		}
	}
}

// finishGather replies with every answer, one line per worker:
// "WORKER_ID(pid): answer"; missing answers say so.
func (s *Supervisor) finishGather(g *gather) {
	if g.finished {
		return
	}
	g.finished = true
	if g.timer != nil {
		g.timer.Stop()
	}
	for id := range g.pending {
		delete(s.gathers, id)
	}
	for _, a := range g.answers {
		if !a.done {
			a.text = fmt.Sprintf("no reply within %v", s.replyTimeout)
		}
	}
	if g.summary != nil {
		g.reply <- g.summary(g.answers)
		return
	}
	if len(g.answers) == 0 {
		g.reply <- "no workers"
		return
	}
	var b strings.Builder
	for i, a := range g.answers {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%d(%d): %s", a.slot, a.pid, a.text)
	}
	g.reply <- b.String()
}
