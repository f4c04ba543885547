package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nodeagent/node-agent/agent/config"
	"github.com/nodeagent/node-agent/logs"
)

// Output is where the agent writes: the service log (what workers write)
// and the agent log (its own events).
type Output struct {
	App, Agent *logs.Sink
	files      []*os.File
}

// OpenOutput opens the log files of cfg (SPEC §9): with a log dir and name
// A.S, DIR/A/S/A.S.log and DIR/A/S/A.S_agent.log; a name without a dot gives
// DIR/N/. Without a log dir both go to stdout.
func OpenOutput(cfg *config.Config) (*Output, error) {
	if cfg.LogDir == "" {
		s := logs.NewSink(os.Stdout)
		return &Output{App: s, Agent: s}, nil
	}
	dir := filepath.Join(cfg.LogDir, cfg.Name)
	if app, server, ok := strings.Cut(cfg.Name, "."); ok {
		dir = filepath.Join(cfg.LogDir, app, server)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	o := &Output{}
	for _, name := range []string{cfg.Name + ".log", cfg.Name + "_agent.log"} {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			o.Close()
			return nil, fmt.Errorf("log file: %w", err)
		}
		o.files = append(o.files, f)
	}
	o.App, o.Agent = logs.NewSink(o.files[0]), logs.NewSink(o.files[1])
	return o, nil
}

// Close closes the log files.
func (o *Output) Close() error {
	for _, f := range o.files {
		f.Close()
	}
	return nil
}

// agentLog writes the agent's own events.
type agentLog struct {
	sink *logs.Sink
	pid  int
}

func (l agentLog) write(level, format string, args ...any) {
	l.sink.Write(logs.Record{Time: time.Now(), PID: l.pid, Level: level, Message: fmt.Sprintf(format, args...)})
}

func (l agentLog) info(format string, args ...any)  { l.write("INFO", format, args...) }
func (l agentLog) warn(format string, args ...any)  { l.write("WARN", format, args...) }
func (l agentLog) error(format string, args ...any) { l.write("ERROR", format, args...) }
