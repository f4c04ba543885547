package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/nodeagent/node-agent/container"
	"github.com/nodeagent/node-agent/testdata/gateway/provider"
	"github.com/nodeagent/node-agent/testdata/gateway/sms"
)

// reloadConfigOn makes w apply a new version of the provider config file
// path when the agent announces it (tars.loadconfig: pushed from the TARS
// console into $TARS_BASEPATH, or changed under --watch): the file is
// parsed in full, and a valid one's rate limit takes effect for the next
// send, without a restart. A file that does not parse is refused with its
// error and the running settings stay. Providers, templates and the retry
// policy are read at start: a change of those needs a rolling restart
// (tars.gracerestart), which the reply says. Announcements of other files
// are answered and ignored.
func reloadConfigOn(w *container.Worker, path string, g *sms.Gateway, log *slog.Logger) {
	w.OnConfig(func(_ context.Context, pushed string) error {
		if filepath.Base(pushed) != filepath.Base(path) {
			log.Info("gateway: config " + pushed + " is not " + path + ": ignored")
			return nil
		}
		cfg, err := provider.LoadConfig(pushed)
		if err != nil {
			return err
		}
		if err := g.SetRateLimit(cfg.RateLimit.PerPhone, cfg.RateLimit.Window); err != nil {
			return err
		}
		log.Info(fmt.Sprintf("gateway: config %s reloaded: rate limit %d per %v (providers, templates and retries at the next restart)",
			pushed, cfg.RateLimit.PerPhone, cfg.RateLimit.Window))
		return nil
	})
}
