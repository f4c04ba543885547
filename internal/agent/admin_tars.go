package agent

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Admin commands a TarsGo server answers that the agent answers for the
// whole service (SPEC §10): the platform cannot tell the agent from a
// TarsGo server by them.
const (
	// CmdGraceRestart is sent by the admin registry's grace-restart task;
	// the agent runs the rolling reload.
	CmdGraceRestart = "tars.gracerestart"
)

// graceRestartReply is TarsGo's reply to tars.gracerestart.
const graceRestartReply = "restart gracefully!"

// graceRestart runs tars.gracerestart: the rolling reload, answered as
// TarsGo answers it. It waits for the reload's outcome until shortly before
// ctx's deadline (the platform's call timeout): a reload that failed or
// could not start (one is running, the agent is stopping) is an error
// "restart failed: …" wrapping the reload's typed error, so AdminF answers
// non-zero; a reload still running at the deadline is answered as started
// (its outcome is in the log), as TarsGo answers once its restart began.
func (s *Supervisor) graceRestart(ctx context.Context) (string, error) {
	reply := make(chan adminAnswer, 1)
	if err := s.send(ctx, adminRequest{cmd: CmdReload, reply: reply}); err != nil {
		return "", err
	}
	var due <-chan time.Time
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		t := time.NewTimer(max(left-max(replyMargin, left/10), minGather))
		defer t.Stop()
		due = t.C
	}
	select {
	case a := <-reply:
		if a.err != nil {
			return "", fmt.Errorf("restart failed: %w", a.err)
		}
		return graceRestartReply, nil
	case <-due:
		s.log.info("%s: the reload goes on after the reply", CmdGraceRestart)
		return graceRestartReply, nil
	case <-s.quit:
		return "", ErrStopped
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// More commands of a TarsGo or TarsCpp server the agent answers for the
// whole service.
const (
	// CmdHelp lists the agent's commands and the workers'.
	CmdHelp = "tars.help"
	// CmdCloseCore "yes|no" (tarsnode's core-file limiter) sets
	// RLIMIT_CORE's soft limit to 0 (yes) or to the hard limit (no), in
	// the agent — so in every worker started from now on — and in every
	// running worker.
	CmdCloseCore = "tars.closecore"
	// CmdDumpStack writes every linked worker's goroutine dump to
	// NAME_stackinfo.log in the service's log directory (the agent's log
	// without one) and answers where.
	CmdDumpStack = "tars.dumpstack"
	// CmdPProf "[PORT [SECONDS [WORKER]]]" makes each worker (or the one
	// of id WORKER) serve net/http/pprof on 127.0.0.1 — loopback only —
	// for SECONDS (default 600, at most 3600): worker i on PORT+i
	// (default 8080, as TarsGo), or each on a free port with PORT 0.
	CmdPProf = "tars.pprof"
)

// agentCommands are the commands the agent answers itself, for tars.help.
var agentCommands = []struct{ name, does string }{
	{CmdViewVersion, "the agent's version"},
	{CmdSetLogLevel + " DEBUG|INFO|WARN|ERROR|NONE", "the service log's level, in the agent and every worker"},
	{CmdLoadConfig + " FILE", "forwarded to every worker"},
	{CmdGraceRestart, "the rolling reload"},
	{CmdCloseCore + " yes|no", "core files off or on, for every worker"},
	{CmdDumpStack, "every worker's goroutines to NAME_stackinfo.log"},
	{CmdPProf + " [PORT [SECONDS [WORKER]]]", "net/http/pprof on 127.0.0.1:PORT+worker"},
	{CmdHelp, "this list"},
	{CmdPreheat, "success once every worker is ready"},
	{CmdStatus, "the worker table as JSON"},
	{CmdReload, "the rolling reload, answered when done"},
	{CmdScale + " N", "run N workers"},
}

// onTarsAdmin runs a command onAdmin does not know: a TARS command the
// agent answers for the service, else the command goes to every worker.
// When no worker has a handler for it the answer is TarsGo's
// "<command> not support now!", as an ErrUnknownCommand error.
func (s *Supervisor) onTarsAdmin(req adminRequest) {
	switch req.cmd {
	case CmdHelp:
		s.forward(req, s.helpSummary)
	case CmdCloseCore:
		req.answer(s.closeCore(req.data))
	case CmdDumpStack:
		s.forward(req, s.dumpStackSummary)
	case CmdPProf:
		s.pprof(req)
	case CmdLoadConfig:
		// Workers without a reload callback read the file when they start.
		s.forward(req, func(answers []*workerAnswer) (string, error) {
			var applied []*workerAnswer
			for _, a := range answers {
				if !noHandler(a) {
					applied = append(applied, a)
				}
			}
			return listAnswers(applied)
		})
	default:
		full := strings.TrimSpace(req.cmd + " " + req.data)
		s.forward(req, func(answers []*workerAnswer) (string, error) {
			if len(answers) == 0 {
				return "no workers", nil
			}
			if !anyHandled(answers) {
				return "", errorf(ErrUnknownCommand, "%s not support now!", full)
			}
			return listAnswers(answers)
		})
	}
}

// noHandler reports whether a is a worker's "no handler" answer (or a
// plain binary's, which has none).
func noHandler(a *workerAnswer) bool {
	return a.text == plainAnswer || (a.failed && strings.HasPrefix(a.text, "no handler"))
}

// anyHandled reports whether some worker has a handler for the command.
func anyHandled(answers []*workerAnswer) bool {
	for _, a := range answers {
		if !noHandler(a) {
			return true
		}
	}
	return false
}

// listAnswers is a forwarded command's reply, one "WORKER_ID(pid): answer"
// line per worker (an ErrWorkers error when one failed), as finishGather
// writes it without a summary.
func listAnswers(answers []*workerAnswer) (string, error) {
	lines := make([]string, len(answers))
	failed := false
	for i, a := range answers {
		lines[i] = a.String()
		failed = failed || a.failed
	}
	text := strings.Join(lines, "\n")
	if failed {
		return "", errorf(ErrWorkers, "%s", text)
	}
	return text, nil
}

// helpSummary answers tars.help: the agent's commands, then those only
// the workers answer.
func (s *Supervisor) helpSummary(answers []*workerAnswer) (string, error) {
	var b strings.Builder
	b.WriteString("agent:\n")
	known := map[string]bool{}
	for _, c := range agentCommands {
		fmt.Fprintf(&b, "  %s: %s\n", c.name, c.does)
		name, _, _ := strings.Cut(c.name, " ")
		known[name] = true
	}
	theirs := map[string]bool{}
	for _, a := range answers {
		if a.failed || a.text == plainAnswer {
			continue
		}
		for _, name := range strings.Split(a.text, "\n") {
			if name = strings.TrimSpace(name); name != "" && !known[name] {
				theirs[name] = true
			}
		}
	}
	b.WriteString("workers:")
	if len(theirs) == 0 {
		b.WriteString(" none")
	}
	for _, name := range slices.Sorted(maps.Keys(theirs)) {
		b.WriteString("\n  " + name)
	}
	return b.String(), nil
}

// dumpStackSummary writes the goroutine dumps the workers answered and
// answers TarsGo's "tars.dumpstack succ" and, per worker, where its dump
// went.
func (s *Supervisor) dumpStackSummary(answers []*workerAnswer) (string, error) {
	path := s.stackFile()
	lines := []string{CmdDumpStack + " succ"}
	failed := false
	for _, a := range answers {
		switch {
		case a.failed || a.text == plainAnswer:
			failed = failed || a.failed
			lines = append(lines, a.String())
			continue
		case path == "":
			s.log.info("tars.dumpstack of worker %d (pid %d):\n%s", a.slot, a.pid, a.text)
			lines = append(lines, fmt.Sprintf("%d(%d): in the agent's log", a.slot, a.pid))
			continue
		}
		if err := appendStack(path, a, s.sys.clock.Now()); err != nil {
			failed = true
			lines = append(lines, fmt.Sprintf("%d(%d): %v", a.slot, a.pid, err))
			continue
		}
		lines = append(lines, fmt.Sprintf("%d(%d): %s", a.slot, a.pid, path))
	}
	if failed {
		return "", errorf(ErrWorkers, "%s", strings.Join(lines, "\n"))
	}
	return strings.Join(lines, "\n"), nil
}

// stackFile is the file tars.dumpstack appends to: NAME_stackinfo.log
// beside the service log, or "" without a log directory.
func (s *Supervisor) stackFile() string {
	app, _ := LogFiles(s.cfg)
	if app == "" {
		return ""
	}
	return strings.TrimSuffix(app, ".log") + "_stackinfo.log"
}

// appendStack appends a's dump, with a header naming the worker, to path.
func appendStack(path string, a *workerAnswer, now time.Time) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "===== %s worker %d pid %d =====\n%s\n", now.Format(time.RFC3339Nano), a.slot, a.pid, a.text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// pprof validates tars.pprof's arguments and sends them to the workers as
// "PORT SECONDS WORKER" (WORKER -1: all); the reply lists the addresses.
func (s *Supervisor) pprof(req adminRequest) {
	port, secs, worker := 8080, 600, -1
	f := strings.Fields(req.data)
	bad := len(f) > 3
	for i, p := range []*int{&port, &secs, &worker} {
		if i < len(f) {
			n, err := strconv.Atoi(f[i])
			bad = bad || err != nil
			*p = n
		}
	}
	switch {
	case bad || port < 0 || port > 65535 || (port > 0 && port+len(s.table.slots)-1 > 65535):
		req.answer("", errorf(ErrBadArgument, "%s wants [PORT [SECONDS [WORKER]]], got %q", CmdPProf, req.data))
		return
	case secs < 1 || secs > 3600:
		req.answer("", errorf(ErrBadArgument, "%s: %d seconds: want 1 to 3600", CmdPProf, secs))
		return
	case worker < -1 || worker >= len(s.table.slots):
		req.answer("", errorf(ErrBadArgument, "%s: no worker %d (0 to %d)", CmdPProf, worker, len(s.table.slots)-1))
		return
	}
	req.data = fmt.Sprintf("%d %d %d", port, secs, worker)
	s.forward(req, func(answers []*workerAnswer) (string, error) {
		var chosen []*workerAnswer
		for _, a := range answers {
			if a.text != "" || a.failed {
				chosen = append(chosen, a)
			}
		}
		return listAnswers(chosen)
	})
}

// viewVersion answers tars.viewversion: the agent's version, as TarsGo
// answers its framework's, then the service's own version from the deploy
// manifest when there is one: "0.4.0 (service 1.2.3)". reportVersion keeps
// the agent's version alone: tarsnode stores it as the server's TARS
// (framework) version, the column TarsGo fills with its own release.
func (s *Supervisor) viewVersion() string {
	if v := s.cfg.ServiceVersion; v != "" {
		return s.version + " (service " + v + ")"
	}
	return s.version
}
