package agent

import (
	"context"
	"strings"
	"time"

	"github.com/nodeagent/node-agent/internal/agent/config"
	"github.com/nodeagent/node-agent/internal/gobuild"
)

// rebuildTimeout bounds the go build of a reload.
const rebuildTimeout = 10 * time.Minute

// rebuildRequest asks the run loop for a reload that builds a Go source
// entry first (Reload); req gets the reload's answer.
type rebuildRequest struct{ req adminRequest }

// rebuilt is the result of the build a reload started.
type rebuilt struct {
	path string
	err  error
	req  adminRequest // the zero request for SIGHUP
}

// goBuilder returns the build of cfg's Go source entry, its go commands
// run through r (the one place that waits for the agent's children), or
// nil when the entry is an executable.
func goBuilder(cfg *config.Config, r *reaper) func(context.Context) (string, error) {
	if cfg.Entry.SourceDir == "" {
		return nil
	}
	b := &config.Builder{CacheDir: cfg.Entry.BuildCache, Go: gobuild.Tool{Exec: r.run}}
	dir := cfg.Entry.SourceDir
	return func(ctx context.Context) (string, error) {
		res, err := b.Build(ctx, dir)
		return res.Path, err
	}
}

// Reload is what SIGHUP does, answered: a rolling reload, after a build of
// the sources for a Go source entry (the workers keep running when it
// fails: an ErrReloadFailed error). It answers when the reload is over, as
// agent.reload does. Errors: those of agent.reload, ErrStopped once Run
// returned, or ctx's error.
func (s *Supervisor) Reload(ctx context.Context) (string, error) {
	reply := make(chan adminAnswer, 1)
	if err := s.send(ctx, rebuildRequest{req: adminRequest{cmd: CmdReload, reply: reply}}); err != nil {
		return "", err
	}
	select {
	case a := <-reply:
		return a.text, a.err
	case <-s.quit:
		return "", ErrStopped
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// rebuildThenReload builds a Go source entry, then reloads the workers
// onto the build (onRebuilt); an executable entry is reloaded at once.
// why names the request in the log ("received SIGHUP").
func (s *Supervisor) rebuildThenReload(why string, req adminRequest) {
	if s.sys.rebuild == nil {
		s.log.info("%s, reloading the workers one by one", why)
		s.rollout.startReload(req, s.stopping)
		return
	}
	if !s.rollout.building() {
		s.log.info("%s, a build for the last reload is still running", why)
		req.answer("", errorf(ErrReloadInProgress, "reload in progress: the sources are being built"))
		return
	}
	s.log.info("%s, building %s before reloading the workers", why, s.cfg.Entry.SourceDir)
	build := s.sys.rebuild
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), rebuildTimeout)
		defer cancel()
		path, err := build(ctx)
		s.post(rebuilt{path: path, err: err, req: req})
	}()
}

// onRebuilt reloads the workers onto a new build, or keeps them.
func (s *Supervisor) onRebuilt(ev rebuilt) {
	s.rollout.built()
	switch {
	case s.stopping:
		ev.req.answer("", ErrStopping)
	case ev.err != nil:
		s.log.error("reload: the sources do not build, the workers keep running: %v", ev.err)
		first, _, _ := strings.Cut(ev.err.Error(), "\n")
		ev.req.answer("", errorf(ErrReloadFailed, "the sources do not build, the workers keep running: %s", first))
	default:
		s.log.info("built %s, reloading the workers one by one", ev.path)
		s.cfg.Entry.Path = ev.path
		s.linked = s.sys.linkedEntry(ev.path)
		if s.rollout.reloadAfter() {
			ev.req.answer("", errorf(ErrReloadInProgress, "reload in progress: another one follows it with the new build"))
			return
		}
		s.rollout.startReload(ev.req, s.stopping)
	}
}
