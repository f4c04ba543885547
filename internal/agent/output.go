package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/nodeagent/node-agent/internal/agent/config"
	"github.com/nodeagent/node-agent/internal/logs"
)

// Output is where the agent writes (SPEC §9): App is the service log (what
// workers write, filtered by --applog-level), Agent the agent log (its own
// events, never filtered). Both may share one destination (stdout).
type Output struct {
	App, Agent *logs.Sink
	dests      []logs.Destination
	files      bool // dests are files (a log dir), not stdout
	sigpipe    chan os.Signal
}

// OpenOutput opens the logs of cfg. With a log dir and name A.S they are
// DIR/A/S/A.S.log and DIR/A/S/A.S_agent.log (a name without a dot gives
// DIR/N/N.log and DIR/N/N_agent.log), created with their directories,
// rotated at --applog-max-size keeping --applog-max-files files each.
// Without a log dir both go to stdout, through a bounded buffer when
// stdout is a pipe or a terminal (logs.NewConsole). The service log starts
// at --applog-level. An error (directory or file not writable) is meant to
// stop the agent before it starts anything.
//
// While the Output is open, SIGPIPE does not kill the agent: a write to a
// closed stdout or stderr fails, and is counted, instead.
func OpenOutput(cfg *config.Config) (*Output, error) {
	level, err := logs.ParseLevel(string(cfg.AppLogLevel))
	if err != nil && cfg.AppLogLevel != "" {
		return nil, err
	}
	o := &Output{sigpipe: make(chan os.Signal, 1)}
	if cfg.LogDir == "" {
		console := logs.NewConsole(os.Stdout, logs.ConsoleOptions{})
		o.dests = []logs.Destination{console}
		o.App, o.Agent = logs.To(console), logs.To(console)
	} else {
		opts := logs.FileOptions{MaxSize: cfg.AppLogMaxSize, MaxFiles: cfg.AppLogMaxFiles}
		var files []*logs.File
		app, agent := LogFiles(cfg)
		for _, path := range []string{app, agent} {
			f, err := logs.OpenFile(path, opts)
			if err != nil {
				o.Close()
				return nil, err
			}
			files = append(files, f)
			o.dests = append(o.dests, f)
		}
		o.App, o.Agent, o.files = logs.To(files[0]), logs.To(files[1]), true
		if cfg.AppLogMaxSize > 0 && files[0].MaxSize() != cfg.AppLogMaxSize {
			o.log().warn("--applog-max-size %d raised to %d bytes: the largest record (1 MiB) must fit in one file", cfg.AppLogMaxSize, files[0].MaxSize())
		}
	}
	o.App.SetLevel(level)
	signal.Notify(o.sigpipe, syscall.SIGPIPE)
	return o, nil
}

// LogFiles returns the paths of the service log and the agent log of cfg
// (see OpenOutput), empty without a log dir.
func LogFiles(cfg *config.Config) (app, agent string) {
	if cfg.LogDir == "" {
		return "", ""
	}
	dir := filepath.Join(cfg.LogDir, cfg.Name)
	if a, server, ok := strings.Cut(cfg.Name, "."); ok {
		dir = filepath.Join(cfg.LogDir, a, server)
	}
	return filepath.Join(dir, cfg.Name+".log"), filepath.Join(dir, cfg.Name+"_agent.log")
}

// SetLevel changes the level of the service log (tars.setloglevel): records
// below it are dropped from now on, NONE drops all. The agent log is not
// filtered. l is a level config.ParseLevel accepted; anything else leaves
// the level as it is. Workers filter their own records at the source: the
// command must reach them too, and new workers must start with Level().
func (o *Output) SetLevel(l config.Level) {
	if level, err := logs.ParseLevel(string(l)); err == nil {
		o.App.SetLevel(level)
	}
}

// Level returns the level of the service log, as SetLevel last set it:
// the level to give workers that start from now on.
func (o *Output) Level() config.Level { return config.Level(o.App.Level().String()) }

// Reopen closes the log files so that the next write opens them again by
// name, creating them if they were moved away (SIGUSR1, after an external
// logrotate). Without a log dir it does nothing. Success is noted in the
// agent log; an error is returned for the caller to log.
func (o *Output) Reopen() error {
	if !o.files {
		o.log().info("no log file to reopen: logging to stdout")
		return nil
	}
	var errs []error
	for _, d := range o.dests {
		errs = append(errs, d.Reopen())
	}
	err := errors.Join(errs...)
	if err == nil {
		o.log().info("log files reopened")
	}
	return err
}

// OutputStats are the counters of the service log and the agent log (the
// same when both go to stdout).
type OutputStats struct {
	App, Agent logs.Stats
	// AppFiltered counts the service log's records below its level.
	AppFiltered uint64
}

// Stats returns what the logs wrote, lost (write errors) and dropped (a
// slow stdout), and what the service log's level filtered out.
func (o *Output) Stats() OutputStats {
	return OutputStats{App: o.App.Destination().Stats(), Agent: o.Agent.Destination().Stats(), AppFiltered: o.App.Filtered()}
}

// Close flushes and closes the logs. Records written later (by output
// pumps still draining) reopen the files, or go straight to stdout.
func (o *Output) Close() error {
	if o.sigpipe != nil {
		signal.Stop(o.sigpipe)
	}
	var errs []error
	for _, d := range o.dests {
		errs = append(errs, d.Close())
	}
	return errors.Join(errs...)
}

// log returns the agent log of the Output, for its own events.
func (o *Output) log() agentLog { return newAgentLog(o.Agent) }

// agentLog is the agent's own log: a *slog.Logger writing TARS lines to
// the agent log's sink (logs.Handler), with printf helpers for the agent's
// lines. Its copies (the reaper's, the sockets') share one handler, so
// redirecting it (ServeControl's tap) redirects them all, safely while
// they write.
type agentLog struct {
	logger  *slog.Logger
	handler *logs.Handler
}

func newAgentLog(sink *logs.Sink) agentLog {
	h := logs.NewHandler(sink, os.Getpid())
	return agentLog{logger: slog.New(h), handler: h}
}

// redirect makes every copy of l write to sink from now on.
func (l agentLog) redirect(sink *logs.Sink) { l.handler.Redirect(sink) }

// logf writes a line at level, formatted only when the log takes it.
func (l agentLog) logf(level slog.Level, format string, args ...any) {
	ctx := context.Background()
	if l.logger.Enabled(ctx, level) {
		l.logger.Log(ctx, level, fmt.Sprintf(format, args...))
	}
}

// event writes ev's line at its level.
func (l agentLog) event(ev Event) {
	l.logger.Log(context.Background(), ev.Level(), ev.String())
}

func (l agentLog) info(format string, args ...any)  { l.logf(slog.LevelInfo, format, args...) }
func (l agentLog) warn(format string, args ...any)  { l.logf(slog.LevelWarn, format, args...) }
func (l agentLog) error(format string, args ...any) { l.logf(slog.LevelError, format, args...) }
