package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/nodeagent/node-agent/internal/agent/config"
	"github.com/nodeagent/node-agent/tars"
)

// Admin commands answered by the agent itself (SPEC §10). Any other command
// is forwarded to every worker.
const (
	CmdViewVersion = "tars.viewversion"
	CmdSetLogLevel = "tars.setloglevel"
	CmdLoadConfig  = "tars.loadconfig"
	CmdPreheat     = "preheatCheck"
	CmdStatus      = "agent.status"
	CmdReload      = "agent.reload"
	CmdScale       = "agent.scale"
)

// Notify runs one admin command (SPEC §10) and returns its reply: the text
// before the first space is the command, the rest its data. It is safe
// from any goroutine, before and while Run runs; ctx bounds the wait. A
// reload answers when every worker has been replaced (or one failed). A
// command forwarded to the workers gathers their answers until ctx's
// deadline minus a margin (at most 3 s), so a slow worker yields a partial
// reply, not a timeout.
//
// A command that fails returns an error wrapping ErrBadArgument,
// ErrStopping, ErrReloadInProgress, ErrReloadFailed, ErrWorkers (its text
// is then the whole per-worker reply) or ErrUnknownCommand; besides,
// ErrStopped once Run returned, or ctx's error.
func (s *Supervisor) Notify(ctx context.Context, command string) (string, error) {
	cmd, data, _ := strings.Cut(strings.TrimSpace(command), " ")
	switch p := s.configs.Load(); {
	case cmd == CmdGraceRestart:
		return s.graceRestart(ctx)
	case cmd == CmdLoadConfig && p != nil && !filepath.IsAbs(strings.TrimSpace(data)):
		return s.loadConfig(ctx, p, strings.TrimSpace(data))
	}
	if cmd == CmdUpgrade {
		// Over AdminF, success closes its connection at the exec: the
		// pause before the hand-over neither waits for it nor hands the
		// connection over.
		tars.Detach(ctx)
	}
	reply := make(chan adminAnswer, 1)
	req := adminRequest{cmd: cmd, data: strings.TrimSpace(data), reply: reply, within: s.gatherWithin(ctx)}
	if err := s.send(ctx, req); err != nil {
		return "", err
	}
	select {
	case a := <-reply:
		return a.text, a.err
	case <-s.quit:
		select {
		case a := <-reply:
			return a.text, a.err
		default:
			return "", ErrStopped
		}
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// replyMargin is what a forwarded command's gather leaves of the caller's
// deadline (at least; a tenth of the time left when that is more) for the
// reply to travel back; minGather is the least it gathers.
const (
	replyMargin = 250 * time.Millisecond
	minGather   = 50 * time.Millisecond
)

// gatherWithin is how long a forwarded command sent with ctx may gather
// the workers' answers: the reply timeout, shortened to end before ctx's
// deadline.
func (s *Supervisor) gatherWithin(ctx context.Context) time.Duration {
	d := s.replyTimeout
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		d = min(d, max(left-max(replyMargin, left/10), minGather))
	}
	return d
}

// Shutdown starts the graceful shutdown, as a first SIGTERM does
// (AdminF.shutdown). It does not wait; Run returns when the workers are
// gone. Calls after the first, or after Run returned, do nothing.
func (s *Supervisor) Shutdown() { s.post(shutdownRequest{}) }

// Status returns a snapshot of the worker table. Errors: ErrStopped once
// Run returned, or ctx's error.
func (s *Supervisor) Status(ctx context.Context) (Status, error) {
	reply := make(chan Status, 1)
	if err := s.send(ctx, statusRequest{reply: reply}); err != nil {
		return Status{}, err
	}
	select {
	case st := <-reply:
		return st, nil
	case <-s.quit:
		return Status{}, ErrStopped
	case <-ctx.Done():
		return Status{}, ctx.Err()
	}
}

// send posts a request to the run loop.
func (s *Supervisor) send(ctx context.Context, ev event) error {
	select {
	case s.events <- ev:
		return nil
	case <-s.quit:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// onAdmin runs an admin command in the run loop.
func (s *Supervisor) onAdmin(req adminRequest) {
	s.log.info("admin command %q %q", req.cmd, req.data)
	switch req.cmd {
	case CmdViewVersion:
		req.answer(s.viewVersion(), nil)
	case CmdSetLogLevel:
		s.setLogLevel(req)
	case CmdPreheat:
		req.answer(s.preheat(), nil)
	case CmdStatus:
		b, err := json.Marshal(s.status())
		req.answer(string(b), err)
	case CmdReload:
		s.rollout.startReload(req, s.stopping)
	case CmdScale:
		req.answer(s.rollout.scale(req.data, s.stopping))
	case CmdUpgrade:
		// Over AdminF, success shows as the connection closing at the
		// exec (upgrade.go): only the control socket's client crosses it.
		s.onUpgrade(upgradeRequest{path: strings.TrimSpace(req.data), reply: req.reply, asked: time.Now()})
	case "":
		req.answer("", errorf(ErrUnknownCommand, "empty command"))
	default:
		s.onTarsAdmin(req)
	}
}

// setLogLevel applies tars.setloglevel to the agent's service log and to
// every worker, and answers as TarsGo does, "tars.setloglevel L succ", once
// every linked worker applied it; when some did not, the error
// (ErrWorkers) lists them. New workers start with the level. A missing or
// unknown level is an ErrBadArgument error with TarsGo's text ("…
// failed: unknown log level [X]!"); unlike TarsGo, lower case is accepted.
func (s *Supervisor) setLogLevel(req adminRequest) {
	if req.data == "" {
		req.answer("", errorf(ErrBadArgument, "%s failed: missing loglevel!", CmdSetLogLevel))
		return
	}
	lv, err := config.ParseLevel(req.data)
	if err != nil {
		req.answer("", errorf(ErrBadArgument, "%s failed: unknown log level [%s]! (DEBUG, INFO, WARN, ERROR or NONE)", CmdSetLogLevel, req.data))
		return
	}
	succ := fmt.Sprintf("%s %s succ", CmdSetLogLevel, lv)
	s.level = lv
	s.out.SetLevel(lv)
	s.log.info("log level set to %s", lv)
	req.data = string(lv)
	s.forward(req, func(answers []*workerAnswer) (string, error) {
		var failed []string
		for _, a := range answers {
			if a.failed || (a.text != "ok" && a.text != plainAnswer) {
				failed = append(failed, a.String())
			}
		}
		if len(failed) == 0 {
			return succ, nil
		}
		return "", errorf(ErrWorkers, "%s in the agent; not in\n%s", succ, strings.Join(failed, "\n"))
	})
}

// preheat answers preheatCheck: success iff every slot has a ready worker
// (listening, for a linked worker), not merely a started one.
func (s *Supervisor) preheat() string {
	if s.stopping {
		return "not ready"
	}
	for _, sl := range s.table.slots {
		if sl.w == nil || sl.w.state != Ready {
			return "not ready"
		}
	}
	return "success"
}

// finishRequests answers the requests still waiting when Run returns.
func (s *Supervisor) finishRequests() {
	s.gathers.finishAll()
	s.rollout.abortReload("the agent stopped")
}
