package agent

import (
	"context"
	"time"

	"github.com/nodeagent/node-agent/agent/config"
)

// rebuildTimeout bounds the go build of a reload.
const rebuildTimeout = 10 * time.Minute

// rebuilt is the result of the build a SIGHUP started.
type rebuilt struct {
	path string
	err  error
}

// goBuilder returns the build of a Go source entry, its go commands run
// through r (the one place that waits for the agent's children), or nil
// when the entry is an executable.
func (s *Supervisor) goBuilder(r *reaper) func(context.Context) (string, error) {
	if s.cfg.Entry.SourceDir == "" {
		return nil
	}
	b := &config.Builder{CacheDir: s.cfg.Entry.BuildCache, Exec: r.run}
	dir := s.cfg.Entry.SourceDir
	return func(ctx context.Context) (string, error) {
		res, err := b.Build(ctx, dir)
		return res.Path, err
	}
}

// reloadOnSignal is SIGHUP: a rolling reload, after a build of the
// sources for a Go source entry (the workers keep running when it fails).
func (s *Supervisor) reloadOnSignal() {
	if s.rebuild == nil {
		s.log.info("received SIGHUP, reloading the workers one by one")
		s.startReload(nil)
		return
	}
	if s.rebuilding {
		s.log.info("received SIGHUP, a build for the last one is still running")
		return
	}
	s.rebuilding = true
	s.log.info("received SIGHUP, building %s before reloading the workers", s.cfg.Entry.SourceDir)
	build := s.rebuild
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), rebuildTimeout)
		defer cancel()
		path, err := build(ctx)
		s.post(rebuilt{path: path, err: err})
	}()
}

// onRebuilt reloads the workers onto a new build, or keeps them.
func (s *Supervisor) onRebuilt(ev rebuilt) {
	s.rebuilding = false
	switch {
	case s.stopping:
	case ev.err != nil:
		s.log.error("SIGHUP: the sources do not build, the workers keep running: %v", ev.err)
	default:
		s.log.info("built %s, reloading the workers one by one", ev.path)
		s.cfg.Entry.Path = ev.path
		s.linked = linksContainer(ev.path)
		s.watchReload()
	}
}
