package agent

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"time"

	"github.com/nodeagent/node-agent/internal/control"
	"github.com/nodeagent/node-agent/internal/monitor"
	"github.com/nodeagent/node-agent/tars"
)

// upgradeDrainTimeout bounds the wait for the requests in progress on the
// agent's own endpoints before the hand-over: one still unanswered then
// is cut at the exec (and logged).
const upgradeDrainTimeout = 5 * time.Second

// frontDoors are the agent's own endpoints that clients call: the
// metrics endpoint, the AdminF endpoint and the control socket, each nil
// when not served. Before the hand-over they are paused, off the run
// loop (which still answers what the requests in progress ask of it):
// each stops accepting, keeping its socket (clients connecting meanwhile
// wait in its backlog for the next program) and answers the requests in
// progress. HTTP keep-alive connections are then closed between two
// requests (HTTP clients retry there); AdminF connections are handed over
// as they are, since a TARS client cannot know that a request it sent on
// a closing connection was not read.
type frontDoors struct {
	metrics *monitor.Server
	admin   *tars.Server
	control *control.Server
}

// pausedDoors are the front doors once paused, with what they hand over.
type pausedDoors struct {
	doors   frontDoors
	metrics *os.File     // the metrics listener
	admin   *tars.Paused // the AdminF listener and connections
	// unanswered counts the control requests not answered in time.
	unanswered int
}

// frontDoors returns the agent's endpoints (on the run loop).
func (s *Supervisor) frontDoors() frontDoors {
	d := frontDoors{control: s.up.controlServer}
	if s.mon != nil {
		d.metrics = s.mon.metrics
	}
	if s.links != nil {
		d.admin = s.links.admin
	}
	return d
}

// pause pauses every door at once, within ctx; a door that cannot be
// paused resumes the others and fails the upgrade.
func (d frontDoors) pause(ctx context.Context) (*pausedDoors, error) {
	p := &pausedDoors{doors: d}
	var wg sync.WaitGroup
	var errMetrics, errAdmin error
	if d.metrics != nil {
		wg.Go(func() { p.metrics, errMetrics = d.metrics.Pause(ctx) })
	}
	if d.admin != nil {
		wg.Go(func() { p.admin, errAdmin = d.admin.Pause(ctx) })
	}
	if d.control != nil {
		wg.Go(func() { p.unanswered = d.control.Pause(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errMetrics, errAdmin); err != nil {
		p.resume()
		return nil, refused("pausing the agent's endpoints: %v", err)
	}
	return p, nil
}

// resume serves again (the hand-over did not happen).
func (p *pausedDoors) resume() error {
	if p == nil {
		return nil
	}
	var err error
	if p.metrics != nil {
		err = p.doors.metrics.Resume()
	}
	if p.admin != nil {
		p.admin.Close()
		p.doors.admin.Resume()
	}
	if p.doors.control != nil {
		p.doors.control.Resume()
	}
	return err
}

// adminConnState is an AdminF connection handed over: its descriptor and
// what the old program had read of its next request.
type adminConnState struct {
	FD       int    `json:"fd"`
	Buffered []byte `json:"buffered,omitempty"`
}

// handOverDoors records the paused doors' listeners and connections in
// doc, adding their descriptors to fds.
func (p *pausedDoors) handOverDoors(doc *handoverDoc, fds *handoverFDs) {
	if p == nil {
		return
	}
	if p.metrics != nil {
		fd := fds.add(rawFD(p.metrics))
		doc.Metrics = &fd
	}
	if p.admin != nil {
		fd := fds.add(rawFD(p.admin.Listener))
		doc.Admin = &fd
		for _, c := range p.admin.Conns {
			doc.AdminConns = append(doc.AdminConns, adminConnState{FD: fds.add(rawFD(c.File)), Buffered: c.Buffered})
		}
	}
}

// adoptAdminConns serves the AdminF connections the previous program
// handed over on admin.
func (s *Supervisor) adoptAdminConns(admin *tars.Server) {
	h := s.up.adopted
	if h == nil {
		return
	}
	for _, cs := range h.doc.AdminConns {
		f := os.NewFile(uintptr(cs.FD), "admin-conn")
		c, err := net.FileConn(f)
		f.Close()
		if err == nil {
			err = admin.Adopt(c, cs.Buffered)
		}
		if err != nil {
			s.log.warn("upgrade in place: an AdminF connection: %v", err)
		}
	}
}
