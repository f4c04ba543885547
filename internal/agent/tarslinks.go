package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nodeagent/node-agent/internal/notify"
	"github.com/nodeagent/node-agent/tars"
)

// alarmFlushTimeout bounds how long the agent waits at exit for its last
// alarms ("stop") to reach tarsnotify.
const alarmFlushTimeout = 2 * time.Second

// tarsLinks are the agent's connections to a TARS platform (SPEC §10, §12),
// each optional: the AdminF server on --tars-local, the tarsnode reporter
// for --tars-node, and the alarms to tarsnotify with a TARS config.
type tarsLinks struct {
	admin  *tars.Server
	served chan struct{}
	node   *notify.NodeReporter
	alarms *notify.Alarms
	// configs is the config center's client, when the config names one.
	configs *configPuller
}

// openTARS opens the links cfg asks for. An AdminF endpoint that cannot be
// bound or an invalid allow list is an error (a usage error: exit 2);
// reporting and alarms that cannot reach their targets only log.
func (s *Supervisor) openTARS() (*tarsLinks, error) {
	l := &tarsLinks{}
	cfg := s.cfg
	app, server := notify.SplitName(cfg.Name)
	if cfg.TarsConfig != "" {
		a, err := notify.NewAlarms(notify.AlarmConfig{Notify: cfg.Notify, Locator: cfg.Locator,
			App: app, Server: server, Set: cfg.SetDivision, NodeName: cfg.NodeName, Logger: s.log.logger})
		if err != nil {
			s.log.warn("TARS alarms are off: %v", err)
		} else {
			l.alarms = a
			s.Subscribe(func(ev Event) {
				if al, ok := ev.(Alarm); ok {
					a.Report(al.ThreadID, al.Message)
				}
			})
		}
	}
	if p, err := newConfigPuller(cfg); err != nil {
		s.log.warn("tars.loadconfig only forwards: %v", err)
	} else if p != nil {
		l.configs = p
		s.configs.Store(p)
	}
	if dir := cfg.TarsWorkDir; dir != "" {
		// tarsnode makes the log path before it starts a server there.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			s.log.warn("the workers' directory (<server>logpath): %v", err)
		}
	}
	if cfg.TarsLocal != "" {
		allow, err := tars.ParseAllowList(cfg.TarsLocalAllow)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("the AdminF adapter's allow list: %w", err)
		}
		l.admin = tars.NewAdminServer(tars.AdminFuncs{OnShutdown: s.Shutdown, OnNotify: l.adminNotify(s.Notify)},
			tars.ServerOptions{Allow: allow, Logger: s.log.logger})
		ln, err := s.adoptedListener(func(d *handoverDoc) *int { return d.Admin })
		if err == nil && ln != nil {
			if err = l.admin.ListenOn(cfg.TarsLocal, ln); err == nil {
				s.adoptAdminConns(l.admin)
			}
		} else if err == nil {
			err = l.admin.Listen(cfg.TarsLocal)
		}
		if err != nil {
			l.admin = nil
			l.close()
			return nil, fmt.Errorf("--tars-local %q: %w", cfg.TarsLocal, err)
		}
		l.served = make(chan struct{})
		go func() {
			defer close(l.served)
			l.admin.Serve()
		}()
		s.log.info("serving AdminF on %s", l.admin.Endpoint())
	}
	if cfg.TarsNode != "" {
		r, err := notify.StartNodeReporter(notify.NodeConfig{Node: cfg.TarsNode, Locator: cfg.Locator,
			App: app, Server: server, Pid: os.Getpid(), Version: s.version, Logger: s.log.logger})
		if err != nil {
			l.close()
			return nil, fmt.Errorf("--tars-node %q: %w", cfg.TarsNode, err)
		}
		l.node = r
		s.log.info("reporting to tarsnode %s", cfg.TarsNode)
	}
	return l, nil
}

// adminNotify is the AdminF notify handler. As TarsGo does, every command
// is reported to tarsnotify ("AdminServant::notify:<command>", level
// NORMAL) when alarms are on, then run; and a command nobody answers
// (ErrUnknownCommand) is answered TarsGo's "<command> not support now!"
// with return 0, because the admin registry counts a non-zero return as a
// failed task and a TarsGo server answers 0. Other errors stay non-zero.
// The control socket keeps the typed error: there an unknown command fails.
func (l *tarsLinks) adminNotify(notify func(context.Context, string) (string, error)) func(context.Context, string) (string, error) {
	return func(ctx context.Context, command string) (string, error) {
		if l.alarms != nil {
			l.alarms.Report("", "AdminServant::notify:"+command)
		}
		text, err := notify(ctx, command)
		if errors.Is(err, ErrUnknownCommand) {
			return err.Error(), nil
		}
		return text, err
	}
}

// close stops the links: the AdminF server (its last replies sent), the
// tarsnode reporter, and the alarms after a bounded flush.
func (l *tarsLinks) close() {
	if l.configs != nil {
		l.configs.close()
	}
	if l.admin != nil {
		l.admin.Close()
		<-l.served
	}
	if l.node != nil {
		l.node.Close()
	}
	if l.alarms != nil {
		ctx, cancel := context.WithTimeout(context.Background(), alarmFlushTimeout)
		defer cancel()
		l.alarms.Close(ctx)
	}
}
