package agent

import "github.com/nodeagent/node-agent/agent/config"

// SetLevel and Reopen are placeholders until the rolling-logs work lands.

// SetLevel changes the level below which service log records are dropped.
func (o *Output) SetLevel(config.Level) {}

// Reopen reopens the log files by name (after an external rotation).
func (o *Output) Reopen() error { return nil }
