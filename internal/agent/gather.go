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
// workers' answers; a caller's deadline may shorten it (gatherWithin).
const defaultReplyTimeout = 3 * time.Second

// gather is a command forwarded to every worker, collecting the answers
// until all came or the deadline passed (SPEC §10).
type gather struct {
	cmd    string
	reply  adminRequest // answered once
	within time.Duration
	// summary turns the answers into the reply; nil lists them.
	summary  func(answers []*workerAnswer) (string, error)
	answers  []*workerAnswer // in slot order
	pending  map[uint64]*workerAnswer
	timer    timer
	finished bool
}

// workerAnswer is one worker's part of a gather.
type workerAnswer struct {
	slot, pid int
	text      string // the reply, or why there is none
	done      bool
	// failed: the worker answered an error, could not be asked, exited
	// before answering or did not answer in time.
	failed bool
}

// String is the answer's line in a reply: "WORKER_ID(pid): text".
func (a *workerAnswer) String() string { return fmt.Sprintf("%d(%d): %s", a.slot, a.pid, a.text) }

// gathers are the forwarded commands waiting for the workers' answers,
// by command id: the admin part of the run loop.
type gathers struct {
	byID   map[uint64]*gather
	nextID uint64
}

// pending reports whether a forwarded command still waits for answers.
func (g *gathers) pending() bool { return len(g.byID) > 0 }

// forward sends req to every running worker that is not stopping and
// replies once each answered, or at the deadline (req.within, else the
// reply timeout): summary(answers), or one line per worker when summary is
// nil — an ErrWorkers error when some answer failed.
func (s *Supervisor) forward(req adminRequest, summary func([]*workerAnswer) (string, error)) {
	within := req.within
	if within <= 0 {
		within = s.replyTimeout
	}
	var workers []*worker
	for _, sl := range s.table.slots {
		sl.workers(func(w *worker) { workers = append(workers, w) })
	}
	s.gathers.start(req, within, workers, summary, func(g *gather) timer {
		return s.sys.clock.AfterFunc(within, func() { s.post(gatherDue{g}) })
	})
}

// start sends req to those of workers that are not stopping, and replies
// at once when none is asked; else arm arms the gather's deadline.
func (gs *gathers) start(req adminRequest, within time.Duration, workers []*worker, summary func([]*workerAnswer) (string, error), arm func(*gather) timer) {
	g := &gather{cmd: req.cmd, reply: req, within: within, summary: summary, pending: map[uint64]*workerAnswer{}}
	for _, w := range workers {
		if w.state == Stopping {
			continue
		}
		a := &workerAnswer{slot: w.slot, pid: w.p.PID()}
		g.answers = append(g.answers, a)
		if !w.linked {
			a.text, a.done = plainAnswer, true
			continue
		}
		gs.nextID++
		id := gs.nextID
		if err := w.p.Send(wire.KindCommand, wire.Command{ID: id, Cmd: req.cmd, Data: req.data}); err != nil {
			a.text, a.done, a.failed = "unreachable: "+err.Error(), true, true
			continue
		}
		g.pending[id] = a
		gs.byID[id] = g
	}
	if len(g.pending) == 0 {
		gs.finish(g)
		return
	}
	g.timer = arm(g)
}

// reply records the answer of worker pid to a forwarded command.
func (gs *gathers) reply(pid int, r wire.Reply) {
	g, ok := gs.byID[r.ID]
	if !ok {
		return // late: the gather is over
	}
	a := g.pending[r.ID]
	if a.pid != pid {
		return // not the worker it was sent to
	}
	delete(gs.byID, r.ID)
	delete(g.pending, r.ID)
	a.text, a.done = r.Text, true
	if r.Error != "" {
		a.text, a.failed = r.Error, true
	}
	if len(g.pending) == 0 {
		gs.finish(g)
	}
}

// workerGone settles the answers worker pid, which exited with st, still
// owed.
func (gs *gathers) workerGone(pid int, st exitStatus) {
	for id, g := range gs.byID {
		if a := g.pending[id]; a.pid == pid {
			delete(gs.byID, id)
			delete(g.pending, id)
			a.text, a.done, a.failed = "exited with "+st.String()+" before replying", true, true
			if len(g.pending) == 0 {
				gs.finish(g)
			}
		}
	}
}

// finishAll answers every gather still waiting (Run returns).
func (gs *gathers) finishAll() {
	for _, g := range gs.byID {
		gs.finish(g)
	}
}

// finish replies with every answer, one line per worker:
// "WORKER_ID(pid): answer"; missing answers say so, and make the reply an
// error.
func (gs *gathers) finish(g *gather) {
	if g.finished {
		return
	}
	g.finished = true
	if g.timer != nil {
		g.timer.Stop()
	}
	for id := range g.pending {
		delete(gs.byID, id)
	}
	failed := false
	for _, a := range g.answers {
		if !a.done {
			a.text, a.failed = fmt.Sprintf("no reply within %v", g.within), true
		}
		failed = failed || a.failed
	}
	if g.summary != nil {
		g.reply.answer(g.summary(g.answers))
		return
	}
	if len(g.answers) == 0 {
		g.reply.answer("no workers", nil)
		return
	}
	lines := make([]string, len(g.answers))
	for i, a := range g.answers {
		lines[i] = a.String()
	}
	text := strings.Join(lines, "\n")
	if failed {
		g.reply.answer("", errorf(ErrWorkers, "%s", text))
		return
	}
	g.reply.answer(text, nil)
}
