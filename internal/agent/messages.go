package agent

import (
	"errors"
	"io"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
	"github.com/nodeagent/node-agent/internal/logs"
)

func (s *Supervisor) onMessage(ev procMessage) {
	w := s.table.find(ev.p)
	m := ev.msg
	defer func() {
		for _, f := range m.Files {
			f.Close()
		}
	}()
	if w == nil {
		return
	}
	if m.Kind.IsMonitoring() {
		if err := s.stats.Handle(w.slot, w.p.PID(), m); err != nil {
			s.log.warn("%v", err)
		}
		return
	}
	switch m.Kind {
	case wire.KindHello:
		var h wire.Hello
		if err := m.Decode(&h); err != nil || h.Version != wire.Version {
			s.log.error("worker %d (pid %d) speaks protocol %d, the agent %d: stopping it", w.slot, w.p.PID(), h.Version, wire.Version)
			s.stop(w, causeProtocol)
			return
		}
		w.linked = true
	case wire.KindReady:
		if w.state == Starting {
			disarmReadyDeadline(w)
			w.state = Ready
			w.lastBeat = s.sys.clock.Now() // the keepalive deadline starts now
			s.emit(WorkerReady{Slot: w.slot, PID: w.p.PID(), After: s.sys.clock.Now().Sub(w.started)})
			s.starts.ready()
			s.rollout.onReady(w)
		}
	case wire.KindHeartbeat:
		w.lastBeat = s.sys.clock.Now()
	case wire.KindListen:
		s.onListen(w, m)
	case wire.KindAddConfig:
		s.onAddConfig(w, m)
	case wire.KindReply:
		var r wire.Reply
		if m.Decode(&r) == nil {
			s.gathers.reply(w.p.PID(), r)
		}
	case wire.KindLog: // real workers' records are written off the loop
		s.workerRecord(w.p.PID(), m)
	}
}

// workerRecord writes a record of a worker's logger (a KindLog frame) to
// the service log. The process starter calls it from the worker's channel
// reader, so a slow disk slows that worker, never the run loop.
func (s *Supervisor) workerRecord(pid int, m wire.Message) {
	var l wire.Log
	if m.Decode(&l) != nil {
		return
	}
	lv, err := logs.ParseLevel(l.Level)
	if err != nil || lv == logs.LevelNone {
		lv = logs.LevelInfo
	}
	if lv >= logs.LevelError {
		s.starts.note(pid, l.Message)
	}
	s.out.App.Write(logs.Record{Time: time.UnixMilli(l.Time), PID: pid, Level: lv, File: l.File, Line: l.Line, Message: l.Message})
}

// workerOutput writes what a worker writes to stdout (level "INFO") or
// stderr ("ERROR") to the service log, line by line, until r ends (nil)
// or fails.
func (s *Supervisor) workerOutput(pid int, level string, r io.Reader) error {
	sink, lv := s.out.App, logs.LevelInfo
	if level == "ERROR" {
		sink, lv = s.starts.tap(pid, s.out.App), logs.LevelError
	}
	return logs.Pump(sink, r, pid, lv)
}

func (s *Supervisor) onListen(w *worker, m wire.Message) {
	var req wire.Listen
	if err := m.Decode(&req); err != nil {
		return
	}
	res := wire.ListenResult{ID: req.ID}
	fd, addr, err := s.sockets.get(req.Network, req.Address, w.slot)
	if errors.Is(err, errNoHTTPAddress) {
		res.NoAddress = true // not a failure: the worker asks again with its own address
		w.p.Send(wire.KindListenResult, res)
		return
	}
	if err != nil {
		res.Error = err.Error()
		s.log.error("worker %d (pid %d) asked to listen on %q: %v", w.slot, w.p.PID(), req.Address, err)
		w.p.Send(wire.KindListenResult, res)
		return
	}
	res.Address = addr
	w.p.Send(wire.KindListenResult, res, fd)
}
