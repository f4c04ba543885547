package agent

import (
	"context"
	"fmt"
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
