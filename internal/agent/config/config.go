package config

import "time"

// Defaults of SPEC §2, exported so documentation, tests and callers agree.
const (
	DefaultGracefulShutdown = 8000 * time.Millisecond
	DefaultExceptionMax     = 2
	DefaultExceptionTime    = 10000 * time.Millisecond
	DefaultKeepaliveTime    = 300 * time.Second
	DefaultAppLogMaxFiles   = 10
	DefaultAppLogMaxSize    = 10 << 20
	DefaultAppLogLevel      = LevelDebug
	DefaultHTTPThreshold    = 400
	DefaultReadyTimeout     = 30 * time.Second
)

// Level is a log level name in the standard order DEBUG < INFO < WARN < ERROR < NONE.
type Level string

// The log levels accepted by --applog-level and tars.setloglevel.
const (
	LevelDebug Level = "DEBUG"
	LevelInfo  Level = "INFO"
	LevelWarn  Level = "WARN"
	LevelError Level = "ERROR"
	LevelNone  Level = "NONE"
)

// InstancesMode records how the worker count was asked for.
type InstancesMode int

// The ways -i can be given.
const (
	InstancesAuto  InstancesMode = iota // CPUs usable by this process (affinity and cgroup quota)
	InstancesMax                        // all logical CPUs
	InstancesFixed                      // an explicit number
)

// Steering is how the agent hands new connections on a TCP address to the
// workers' sockets (--steering).
type Steering string

// The values of --steering.
const (
	// SteeringPack sends new connections to the smallest set of ready
	// workers that keeps up with them (at least as many as the agent's
	// usable CPUs), growing it when they are busy and shrinking it slowly
	// when idle; under saturation every ready worker is in it.
	SteeringPack Steering = "pack"
	// SteeringSpread spreads new connections evenly over every ready
	// worker at any load.
	SteeringSpread Steering = "spread"
)

// Entry is what the workers run, after entry resolution (SPEC §4).
type Entry struct {
	// Path is the absolute path of the executable each worker runs.
	Path string
	// Dir is the entry's directory, the absolute working directory of the
	// workers outside TARS (Config.WorkerDir).
	Dir string
	// SourceDir is the absolute directory of the Go main package Path was built
	// from, or "" when the entry is a ready-made executable.
	SourceDir string
	// Manifest is the absolute path of the node-agent.json that named the
	// entry, or "" when none was used.
	Manifest string
	// BuildCache is the cache directory Path was built into (a Builder's
	// CacheDir), or "" when the entry is a ready-made executable.
	BuildCache string
}

// Credential is the identity workers run as (--run-as-user/--run-as-group).
type Credential struct {
	UID, GID uint32
	// User and Home are the user's name and home directory, exported to the
	// workers as USER/LOGNAME and HOME. Empty when only a group was given.
	User, Home string
}

// Config is the validated configuration of one supervised service. The zero
// value is not useful; build one with Load. Every field is final: nothing
// downstream reads flags, files or string maps.
type Config struct {
	Entry Entry
	// Name is the service name: "App.Server" under TARS, else the entry
	// basename without extension (or the value of -n).
	Name string
	// TarsConfig is the absolute path of the TARS config file (-c), or "".
	TarsConfig string
	// TarsWorkDir is the TARS config's <server>logpath (absolute), or "":
	// the directory tarsnode starts a tars_go server in, and so the
	// workers' (WorkerDir).
	TarsWorkDir string
	// LogDir is the log root (-l), or "" for the agent's stdout/stderr.
	LogDir string

	InstancesMode InstancesMode
	// Instances is the resolved worker count, always ≥ 1.
	Instances int

	// Env is merged into every worker's environment (--env).
	Env map[string]string
	// HTTPAddress is the shared listening address, "host:port" as accepted by
	// net.Listen ("[::1]:8080" for IPv6), or "" when none.
	HTTPAddress string
	// WorkerArgs are the worker's arguments (--script-args, then those after --).
	WorkerArgs []string
	// NodeArgs are accepted for compatibility and only warned about.
	NodeArgs []string
	// RunAs is the identity of the workers, nil for the agent's own.
	RunAs *Credential

	// MaxMemoryRestart is the RSS limit per worker in bytes, 0 for none.
	MaxMemoryRestart int64
	// GracefulShutdown is how long a worker may take to exit after the stop
	// request before its process group is SIGKILLed. 0 means kill at once.
	GracefulShutdown time.Duration
	// ExceptionMax and ExceptionTime define the exception window (SPEC §6).
	ExceptionMax  int
	ExceptionTime time.Duration
	// KeepaliveTime is the heartbeat deadline, 0 when off.
	KeepaliveTime time.Duration

	AppLogMaxFiles int
	AppLogMaxSize  int64
	AppLogLevel    Level

	// TarsNode is the tarsnode proxy string (--tars-node), or "".
	TarsNode string
	// TarsLocal is the AdminF endpoint string (--tars-local), or "".
	TarsLocal string
	// TarsMonitor enables stat/property reporting when a TARS config is given.
	TarsMonitor bool
	// TarsLocalAllow is the allow list of the AdminF adapter (an
	// <AdminAdapter> section, or the one whose servant is AdminObj, in the
	// TARS config's <server>), as written: addresses separated by ';' or ','.
	// "" means no list.
	TarsLocalAllow string
	// TarsMonitorHTTPThreshold is the status from which an HTTP call failed; 0 is off.
	TarsMonitorHTTPThreshold int
	TarsMonitorHTTPSeppath   bool

	// Settings of the TARS config file (-c) that are not options; "" or 0
	// without a config or when the key is absent or empty. They are taken
	// as written: defaults (NotifyObj, the 10 s minimum report interval of
	// stat reports…) are applied by their users.

	// Locator is <client>locator, the registry's QueryObj proxy.
	Locator string
	// Stat and Property are <client>stat and <client>property, the StatObj
	// and PropertyObj proxies.
	Stat, Property string
	// ReportInterval is <client>report-interval (milliseconds in the file).
	ReportInterval time.Duration
	// ModuleName is <client>modulename, the reporting module (App.Server).
	ModuleName string
	// Notify is <server>notify, the NotifyObj proxy.
	Notify string
	// LocalIP is <server>localip, the host's address in reports.
	LocalIP string
	// ServiceVersion is the service's version from the deploy manifest
	// ("version"), or "": tars.viewversion adds it to the agent's.
	ServiceVersion string
	// NodeName is <server>node_name, else LocalIP: the node_name context
	// of locator calls and the sNodeName of notify reports (TarsGo's).
	NodeName string
	// SetDivision is /tars/application<setdivision> ("name.area.group")
	// when <enableset> is y, else "": sent as the set in notify, stat and
	// property reports, and locator lookups ask findObjectByIdInSameSet.
	SetDivision string
	// ConfigObj is <server>config, the ConfigObj proxy tars.loadconfig
	// fetches files from; BasePath and DataPath are <server>basepath and
	// <server>datapath, where fetched files go and the service's data
	// directory (exported to workers as TARS_BASEPATH, TARS_DATAPATH).
	ConfigObj, BasePath, DataPath string

	// MetricsAddress serves Prometheus metrics when not "".
	MetricsAddress string
	// Watch reloads workers when the entry or the config file changes.
	Watch bool
	// ReadyTimeout bounds how long any worker start may take to become
	// ready. A replacement (rolling reload, memory restart) not ready in
	// time is given up and the worker it was to replace keeps serving; a
	// first start or a crash restart is killed with its process group and
	// counted as an exception, with an alarm. Plain binaries are ready when
	// started, so it never applies to them.
	ReadyTimeout time.Duration
	// Steering is how new connections on a per-slot TCP address are
	// spread over the ready workers (default SteeringPack). It has no
	// effect where the agent falls back to one shared socket.
	Steering Steering
	// Subreaper makes the agent the reaper of orphaned descendants of its
	// workers (Linux PR_SET_CHILD_SUBREAPER). The agent reaps orphans
	// anyway when it runs as PID 1.
	Subreaper bool
}

// WorkerDir is the workers' working directory. Outside TARS it is the
// entry's directory (Entry.Dir), so relative paths in the service behave
// as under "go run". Under a TARS config it is <server>logpath, where
// tarsnode starts a tars_go server (TarsFramework NodeServer
// CommandStart.cpp: the working directory is the log path "so that core
// files are found there"; the server directory without one): a service
// behaves under the agent as it would deployed alone, core files land
// where tarsnode's tools look for them, and its files belong under
// $TARS_DATAPATH and $TARS_BASEPATH, not under a relative path. A TARS
// config without logpath leaves the entry's directory.
func (c *Config) WorkerDir() string {
	if c.TarsWorkDir != "" {
		return c.TarsWorkDir
	}
	return c.Entry.Dir
}
