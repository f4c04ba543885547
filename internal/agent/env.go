package agent

import (
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/nodeagent/node-agent/container/wire"
	"github.com/nodeagent/node-agent/internal/agent/config"
)

// scrubbed reports whether an inherited variable must not reach workers:
// systemd's protocol variables (they describe the agent, not the workers)
// and the private variables of the agent↔worker protocol.
func scrubbed(name string) bool {
	switch name {
	case "NOTIFY_SOCKET", wire.EnvChannelFD, wire.EnvProtocol, wire.EnvHeartbeat, wire.EnvLogLevel:
		return true
	}
	if slices.Contains(wire.MonitorEnv(), name) {
		return true
	}
	return strings.HasPrefix(name, "WATCHDOG_") || strings.HasPrefix(name, "LISTEN_")
}

// baseEnv is the environment shared by all workers of cfg (SPEC §5):
// inherited minus scrubbed, plus --env, the http address, TARS variables,
// the run-as identity, GOMEMLIMIT at 90 % of --max-memory-restart (unless
// inherited or in --env) and the protocol variables. WORKER_ID and the log
// level are per worker (workerEnv).
func baseEnv(cfg *config.Config, inherited []string) []string {
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	for _, kv := range inherited {
		k, v, _ := strings.Cut(kv, "=")
		if !scrubbed(k) {
			set(k, v)
		}
	}
	keys := make([]string, 0, len(cfg.Env))
	for k := range cfg.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		set(k, cfg.Env[k])
	}
	if host, port, err := net.SplitHostPort(cfg.HTTPAddress); err == nil && cfg.HTTPAddress != "" {
		set("IP", host)
		set("HTTP_IP", host)
		set("PORT", port)
		set("HTTP_PORT", port)
	}
	if cfg.TarsConfig != "" {
		set("TARS_CONFIG", cfg.TarsConfig)
		set("TARS_MONITOR", strconv.FormatBool(cfg.TarsMonitor))
		if cfg.BasePath != "" {
			set("TARS_BASEPATH", cfg.BasePath) // where tars.loadconfig writes files
		}
		if cfg.DataPath != "" {
			set("TARS_DATAPATH", cfg.DataPath)
		}
	}
	if c := cfg.RunAs; c != nil && c.User != "" {
		set("USER", c.User)
		set("LOGNAME", c.User)
		set("HOME", c.Home)
	}
	set(wire.EnvChannelFD, strconv.Itoa(wire.ChannelFD))
	set(wire.EnvProtocol, strconv.Itoa(wire.Version))
	set(wire.EnvHeartbeat, strconv.FormatInt(heartbeatInterval(cfg.KeepaliveTime).Milliseconds(), 10))
	for _, kv := range monitorVars(cfg) {
		set(kv[0], kv[1])
	}
	if limit := cfg.MaxMemoryRestart; limit > 0 {
		if _, ok := vars["GOMEMLIMIT"]; !ok {
			// The Go runtime collects harder before the agent's restart.
			set("GOMEMLIMIT", strconv.FormatInt(limit/10*9, 10))
		}
	}
	env := make([]string, 0, len(order)+1)
	for _, k := range order {
		env = append(env, k+"="+vars[k])
	}
	return env
}

// workerEnv is base plus the worker's slot and the current log level.
func workerEnv(base []string, slot int, level config.Level) []string {
	return append(slices.Clip(base), "WORKER_ID="+strconv.Itoa(slot), wire.EnvLogLevel+"="+string(level))
}
