package agent

import (
	"fmt"

	"github.com/nodeagent/node-agent/internal/agent/config"
	"github.com/nodeagent/node-agent/internal/agent/watch"
)

// watchEvent carries a --watch event to the run loop.
type watchEvent struct{ ev watch.Event }

// startWatch starts the --watch watcher of ac: the entry (or, for a Go
// source entry, its module's sources, rebuilt through r) and the TARS
// config file. Its events reach the run loop through post, as watchEvent.
// The returned func stops it.
func startWatch(ac *config.Config, r *reaper, log agentLog, post func(event)) (stop func(), err error) {
	cfg := watch.Config{Entry: ac.Entry.Path, SourceDir: ac.Entry.SourceDir, ConfigFile: ac.TarsConfig}
	if ac.LogDir != "" {
		cfg.Ignore = []string{ac.LogDir}
	}
	cfg.Build = goBuilder(ac, r)
	w, err := watch.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("--watch: %w", err)
	}
	forwarded := make(chan struct{})
	go func() {
		defer close(forwarded)
		for ev := range w.Events() {
			post(watchEvent{ev})
		}
	}()
	what := "the entry " + cfg.Entry
	if cfg.SourceDir != "" {
		what = "the Go sources of " + cfg.SourceDir
	}
	if cfg.ConfigFile != "" {
		what += " and " + cfg.ConfigFile
	}
	log.info("watching %s", what)
	return func() {
		w.Close()
		<-forwarded
	}, nil
}

// onWatch acts on a --watch event: a new entry reloads the workers one by
// one (after the reload in progress, if any), a new config file is sent to
// every worker as tars.loadconfig.
func (s *Supervisor) onWatch(ev watch.Event) {
	if s.stopping {
		return
	}
	switch ev := ev.(type) {
	case watch.BinaryChanged:
		s.log.info("the entry %s changed, reloading the workers", ev.Path)
		s.watchReload()
	case watch.Rebuilt:
		s.log.info("the sources were rebuilt into %s, reloading the workers", ev.Path)
		s.cfg.Entry.Path = ev.Path
		s.linked = s.sys.linkedEntry(ev.Path)
		s.watchReload()
	case watch.BuildFailed:
		s.log.error("the sources changed but do not build, the workers keep running: %v", ev.Err)
	case watch.ConfigChanged:
		s.log.info("the config file %s changed, sending %s to the workers", ev.Path, CmdLoadConfig)
		s.forward(adminRequest{cmd: CmdLoadConfig, data: ev.Path}, func(answers []*workerAnswer) (string, error) {
			for _, a := range answers {
				s.log.info("%s: worker %d (pid %d): %s", CmdLoadConfig, a.slot, a.pid, a.text)
			}
			return "", nil
		})
	case watch.Error:
		s.log.warn("--watch: %v", ev.Err)
	}
}

// watchReload starts a rolling reload, or asks for one more after the one
// in progress, which may have started the workers of the previous build.
func (s *Supervisor) watchReload() {
	if !s.rollout.reloadAfter() {
		s.rollout.startReload(adminRequest{}, s.stopping)
	}
}
