package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// option is one setting of SPEC §2. Its long name is the command-line flag,
// the manifest key and mostly the TARS config key (tarsconf.go maps the
// others); the table below is the only place that knows how an option's text
// becomes a Config field.
type option struct {
	name  string // long name: --name, manifest key
	short string // one-letter alias, or ""
	// usage is the help line; a `quoted` word is the value's placeholder.
	usage string
	// flag marks a switch (--watch) that takes no separate value on the
	// command line; --flag=VALUE still works.
	flag bool
	// apply validates v and stores it into the config being built.
	apply func(b *builder, v value) error
}

// builder is the config under construction plus the settings that can only
// be resolved once every option is known.
type builder struct {
	cfg                   *Config
	runAsUser, runAsGroup *value
}

// options is the option table in help order.
var options = []option{
	{name: "config", short: "c", usage: "TARS config `FILE`; also exported to workers as TARS_CONFIG", apply: applyConfigFile},
	{name: "name", short: "n", usage: "service `NAME`, App.Server under TARS (default: entry basename without extension)", apply: applyName},
	{name: "log", short: "l", usage: "log root `DIR` (default: the agent's stdout/stderr)", apply: applyLogDir},
	{name: "instances", short: "i", usage: "workers to run: `N|auto|max`; auto = CPUs usable by this process (affinity, cgroup quota), max = all online CPUs (default: auto)", apply: applyInstances},
	{name: "env", usage: "`JSON` object merged into the workers' environment", apply: func(b *builder, v value) error {
		env, err := parseEnv(v.text)
		if err != nil {
			return v.errorf(err)
		}
		b.cfg.Env = env
		return nil
	}},
	{name: "http-address", usage: "`IP:PORT` ([IPv6]:PORT, host:PORT) opened once by the agent and shared by all workers", apply: func(b *builder, v value) error {
		return setAddress(&b.cfg.HTTPAddress, v)
	}},
	{name: "script-args", usage: "worker arguments `\"A B\"`, split at white space; arguments after -- follow them", apply: func(b *builder, v value) error {
		b.cfg.WorkerArgs = v.args()
		return nil
	}},
	{name: "node-args", usage: "accepted for compatibility with the Node.js agent, ignored with a warning: `\"A B\"`", apply: func(b *builder, v value) error {
		b.cfg.NodeArgs = v.args()
		return nil
	}},
	{name: "run-as-user", usage: "run workers as `USER` (name or uid); HOME and USER follow", apply: func(b *builder, v value) error {
		return setRunAsName(&b.runAsUser, v)
	}},
	{name: "run-as-group", usage: "run workers with `GROUP` (name or gid) (default: the user's primary group)", apply: func(b *builder, v value) error {
		return setRunAsName(&b.runAsGroup, v)
	}},
	{name: "max-memory-restart", usage: "restart a worker whose RSS exceeds `SIZE` (512K, 100M, 1G: every size needs its unit; 0 or off = no limit)", apply: func(b *builder, v value) error {
		if strings.EqualFold(strings.TrimSpace(v.text), "off") {
			b.cfg.MaxMemoryRestart = 0
			return nil
		}
		n, err := parseSize(v.text)
		if err != nil {
			return v.errorf(err)
		}
		b.cfg.MaxMemoryRestart = n
		return nil
	}},
	{name: "graceful-shutdown", usage: "time in `MS` a worker gets to exit after the stop request before its process group is SIGKILLed; 0 = at once (default: 8000)", apply: func(b *builder, v value) error {
		return setMillis(&b.cfg.GracefulShutdown, v, 0)
	}},
	{name: "exception-max", usage: "stop the agent (exit code 100) at `N` unexpected worker exits within --exception-time (default: 2)", apply: func(b *builder, v value) error {
		return setCount(&b.cfg.ExceptionMax, v, 0, 1<<20)
	}},
	{name: "exception-time", usage: "exception window in `MS`, > 0 (default: 10000)", apply: func(b *builder, v value) error {
		return setMillis(&b.cfg.ExceptionTime, v, 1)
	}},
	{name: "keepalive-time", usage: "kill a ready worker silent for `S|off` seconds (default: 300)", apply: func(b *builder, v value) error {
		n, err := parseOffOrCount(v.text, 1, maxMillis/1000)
		if err != nil {
			return v.errorf(err)
		}
		b.cfg.KeepaliveTime = time.Duration(n) * time.Second
		return nil
	}},
	{name: "applog-max-files", usage: "keep `N` log files when rotating, at least 1 (default: 10)", apply: func(b *builder, v value) error {
		return setCount(&b.cfg.AppLogMaxFiles, v, 1, 1<<20)
	}},
	{name: "applog-max-size", usage: "rotate a log file at `SIZE` (10M, 512K, 1G, 65536B: every size needs its unit) (default: 10M)", apply: func(b *builder, v value) error {
		n, err := parseSize(v.text)
		if err == nil && n < 1 {
			err = errors.New("want a size above 0")
		}
		if err != nil {
			return v.errorf(err)
		}
		b.cfg.AppLogMaxSize = n
		return nil
	}},
	{name: "applog-level", usage: "log `LEVEL`: DEBUG, INFO, WARN, ERROR or NONE (default: DEBUG)", apply: func(b *builder, v value) error {
		l, err := ParseLevel(v.text)
		if err != nil {
			return v.errorf(err)
		}
		b.cfg.AppLogLevel = l
		return nil
	}},
	{name: "tars-node", usage: "tarsnode `PROXY`, e.g. \"tars.tarsnode.ServerObj@tcp -h 127.0.0.1 -p 19386 -t 60000\"", apply: func(b *builder, v value) error {
		return setText(&b.cfg.TarsNode, v)
	}},
	{name: "tars-local", usage: "AdminF `ENDPOINT`, e.g. \"tcp -h 127.0.0.1 -p 10000 -t 3000\"", apply: func(b *builder, v value) error {
		return setText(&b.cfg.TarsLocal, v)
	}},
	{name: "tars-monitor", usage: "report stats and properties to TARS when a config is given: `on|off` (default: on)", apply: func(b *builder, v value) error {
		return setBool(&b.cfg.TarsMonitor, v)
	}},
	{name: "tars-monitor-http-threshold", usage: "HTTP status from which a call counts as failed: `N|off`, 100-599 (default: 400)", apply: func(b *builder, v value) error {
		n, err := parseOffOrCount(v.text, 100, 599)
		if err != nil {
			return v.errorf(err)
		}
		b.cfg.TarsMonitorHTTPThreshold = int(n)
		return nil
	}},
	{name: "tars-monitor-http-seppath", usage: "report each URL path as its own interface: `on|off` (default: on)", apply: func(b *builder, v value) error {
		return setBool(&b.cfg.TarsMonitorHTTPSeppath, v)
	}},
	{name: "metrics-address", usage: "serve Prometheus /metrics, /healthz and /readyz on `IP:PORT` (default: off)", apply: func(b *builder, v value) error {
		return setAddress(&b.cfg.MetricsAddress, v)
	}},
	{name: "ready-timeout", usage: "time in `MS` a linked worker gets to become ready: a replacement not ready in time is given up, a first start or restart is killed and counted as an exception (default: 30000)", apply: func(b *builder, v value) error {
		return setMillis(&b.cfg.ReadyTimeout, v, 1)
	}},
	{name: "steering", usage: "how new connections reach the workers: `pack|spread`; pack = as few ready workers as keep up (at least one per usable CPU), more when they are busy; spread = evenly over all, at any load (default: pack)", apply: func(b *builder, v value) error {
		switch s := Steering(strings.ToLower(strings.TrimSpace(v.text))); s {
		case SteeringPack, SteeringSpread:
			b.cfg.Steering = s
			return nil
		}
		return v.errorf(errors.New("want pack or spread"))
	}},
	{name: "subreaper", usage: "reap orphaned descendants of the workers (PR_SET_CHILD_SUBREAPER): `on|off` (default: on; always on as PID 1)", apply: func(b *builder, v value) error {
		return setBool(&b.cfg.Subreaper, v)
	}},
	{name: "watch", flag: true, usage: "rolling reload when the entry binary changes, tars.loadconfig when the config file does (--watch or --watch=on|off)", apply: func(b *builder, v value) error {
		return setBool(&b.cfg.Watch, v)
	}},
}

// lookupOption finds an option by its long name.
func lookupOption(name string) (*option, bool) {
	for i := range options {
		if options[i].name == name {
			return &options[i], true
		}
	}
	return nil, false
}

func applyConfigFile(b *builder, v value) error {
	if strings.TrimSpace(v.text) == "" {
		return v.errorf(errors.New("want the path of a TARS config file"))
	}
	p := v.path()
	fi, err := os.Stat(p)
	if err != nil {
		return v.errorf(fmt.Errorf("cannot use the TARS config file: %w", err))
	}
	if !fi.Mode().IsRegular() {
		return v.errorf(fmt.Errorf("%s is not a regular file", p))
	}
	b.cfg.TarsConfig = p
	return nil
}

func applyLogDir(b *builder, v value) error {
	if strings.TrimSpace(v.text) == "" {
		return v.errorf(errors.New("want a directory"))
	}
	p := v.path()
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
		return v.errorf(fmt.Errorf("%s exists and is not a directory", p))
	}
	b.cfg.LogDir = p
	return nil
}

func applyName(b *builder, v value) error {
	if err := checkName(v.text); err != nil {
		return v.errorf(err)
	}
	b.cfg.Name = v.text
	return nil
}

// checkName accepts a service name usable in log paths: not empty, no '/',
// white space or control characters, no leading/trailing dot, no "..".
func checkName(s string) error {
	if s == "" || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.Contains(s, "..") ||
		strings.ContainsFunc(s, func(r rune) bool { return r == '/' || r == '\\' || r <= ' ' || r == 0x7f }) {
		return errors.New("want a name like App.Server: no '/', white space, leading or trailing '.' or '..'")
	}
	return nil
}

func applyInstances(b *builder, v value) error {
	mode, n, err := parseInstances(v.text)
	if err != nil {
		return v.errorf(err)
	}
	b.cfg.InstancesMode, b.cfg.Instances = mode, n
	return nil
}

func setRunAsName(dst **value, v value) error {
	if strings.TrimSpace(v.text) == "" {
		return v.errorf(errors.New("want a name or a numeric id"))
	}
	*dst = &v
	return nil
}

func setAddress(dst *string, v value) error {
	a, err := parseAddress(v.text)
	if err != nil {
		return v.errorf(err)
	}
	*dst = a
	return nil
}

func setText(dst *string, v value) error {
	t := strings.TrimSpace(v.text)
	if t == "" {
		return v.errorf(errors.New("want a non-empty value"))
	}
	*dst = t
	return nil
}

func setBool(dst *bool, v value) error {
	on, err := parseBool(v.text)
	if err != nil {
		return v.errorf(err)
	}
	*dst = on
	return nil
}

func setCount(dst *int, v value, lo, hi int64) error {
	n, err := parseCount(v.text, hi)
	if err == nil && n < lo {
		err = fmt.Errorf("want at least %d", lo)
	}
	if err != nil {
		return v.errorf(err)
	}
	*dst = int(n)
	return nil
}

func setMillis(dst *time.Duration, v value, loMillis time.Duration) error {
	d, err := parseMillis(v.text)
	if err == nil && d < loMillis*time.Millisecond {
		err = fmt.Errorf("want at least %d ms", loMillis)
	}
	if err != nil {
		return v.errorf(err)
	}
	*dst = d
	return nil
}

// defaultConfig returns a Config holding the defaults of SPEC §2.
func defaultConfig() *Config {
	return &Config{
		InstancesMode:            InstancesAuto,
		GracefulShutdown:         DefaultGracefulShutdown,
		ExceptionMax:             DefaultExceptionMax,
		ExceptionTime:            DefaultExceptionTime,
		KeepaliveTime:            DefaultKeepaliveTime,
		AppLogMaxFiles:           DefaultAppLogMaxFiles,
		AppLogMaxSize:            DefaultAppLogMaxSize,
		AppLogLevel:              DefaultAppLogLevel,
		TarsMonitor:              true,
		TarsMonitorHTTPThreshold: DefaultHTTPThreshold,
		TarsMonitorHTTPSeppath:   true,
		ReadyTimeout:             DefaultReadyTimeout,
		Steering:                 SteeringPack,
		Subreaper:                true,
	}
}
