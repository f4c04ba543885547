package config

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/nodeagent/node-agent/internal/gobuild"
)

// LoadOptions are Load's inputs besides the arguments. The zero value is
// usable: every nil or empty field means the real process and system.
type LoadOptions struct {
	// Version is printed by --version.
	Version string
	// Stdout receives the help and version text; nil means os.Stdout.
	Stdout io.Writer
	// LookupEnv reads the environment (PATH to find go, XDG_CACHE_HOME and
	// HOME for the default CacheDir); nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// CacheDir is the Go build cache root; "" means
	// $XDG_CACHE_HOME/node-agent/build, else $HOME/.cache/node-agent/build.
	CacheDir string
	// DefaultEntry is the ENTRY used when the command line names none (a
	// binary renamed by deploy runs the service of its own directory); ""
	// means ENTRY is required and no arguments at all print the help.
	DefaultEntry string
	// Dir is the directory relative command-line paths are resolved
	// against (itself made absolute); "" means the working directory.
	Dir string
	// Context bounds a Go build; nil means context.Background().
	Context context.Context
	// GoTool is the go command; "" means "go" found in PATH.
	GoTool string

	// SysRoot holds proc/ and sys/ for CPU counting; nil means the root
	// file system.
	SysRoot fs.FS
	// Affinity returns the size of the CPU affinity set; nil means
	// sched_getaffinity(2).
	Affinity func() (int, error)
	// NumCPU is the fallback count of logical CPUs; nil means runtime.NumCPU.
	NumCPU func() int
	// Users is the user/group database for --run-as-*; zero means os/user.
	Users Users
}

// Load parses the command line (args = os.Args[1:]) and the files it leads
// to into a validated Config: options from the command line, then from the
// TARS config file (-c), then from the entry directory's node-agent.json,
// then the defaults (first one that sets an option wins), the entry resolved
// and, for a Go package, built.
//
// It returns ErrHelp or ErrVersion after printing to opts.Stdout (exit 0), a
// *UsageError for any bad input (exit 2), and other errors for failures of
// the system such as an unwritable build cache (exit 1). It never exits.
func Load(args []string, opts LoadOptions) (*Config, error) {
	stdout := opts.Stdout
	if stdout == nil {
		stdout = os.Stdout
	}
	if len(args) == 0 && opts.DefaultEntry == "" {
		if err := printHelp(stdout); err != nil {
			return nil, err
		}
		return nil, ErrHelp
	}
	cl, err := splitCommandLine(args)
	if err != nil {
		return nil, err
	}
	switch {
	case cl.help:
		if err := printHelp(stdout); err != nil {
			return nil, err
		}
		return nil, ErrHelp
	case cl.version:
		fmt.Fprintf(stdout, "node-agent %s\n", opts.Version)
		return nil, ErrVersion
	}

	cwd := opts.Dir
	if cwd == "" {
		cwd = "."
	}
	if cwd, err = filepath.Abs(cwd); err != nil {
		return nil, fmt.Errorf("working directory: %w", err)
	}
	cliSrc, err := parseFlags(cl, cwd)
	if err != nil {
		return nil, err
	}
	entryArg := cl.entry
	if entryArg == "" {
		entryArg = opts.DefaultEntry
	}
	res, err := resolveEntry(entryArg, cwd)
	if err != nil {
		return nil, err
	}
	var manifestSrc mapSource
	if res.manifest != nil {
		manifestSrc = res.manifest.options
	}

	// The TARS config file comes from the command line or the manifest and
	// slots in between them: command line > TARS config > manifest > default.
	b := &builder{cfg: defaultConfig()}
	if res.manifest != nil {
		b.cfg.ServiceVersion = res.manifest.version
	}
	srcs := layers{cliSrc}
	if v, ok := (layers{cliSrc, manifestSrc}).lookup("config"); ok {
		if err := applyConfigFile(b, v); err != nil {
			return nil, err
		}
		tarsSrc, set, err := readTarsConfig(b.cfg.TarsConfig, v.where)
		if err != nil {
			return nil, err
		}
		set.store(b.cfg)
		b.cfg.GracefulShutdown = TarsGracefulShutdown
		srcs = append(srcs, tarsSrc)
	}
	srcs = append(srcs, manifestSrc)

	for i := range options {
		if options[i].name == "config" {
			continue // applied above
		}
		if v, ok := srcs.lookup(options[i].name); ok {
			if v.err != nil {
				return nil, v.err
			}
			if err := options[i].apply(b, v); err != nil {
				return nil, err
			}
		}
	}
	cfg := b.cfg
	if cl.hasDash {
		cfg.WorkerArgs = append(cfg.WorkerArgs, cl.trailing...)
	}
	if cfg.Name == "" {
		if cfg.Name = res.defaultName; cfg.Name == "" {
			return nil, usagef("cannot derive a service name from entry %s: give -n NAME", entryArg)
		}
	}
	if cfg.RunAs, err = resolveRunAs(b.runAsUser, b.runAsGroup, opts.Users); err != nil {
		return nil, err
	}
	cfg.Instances = countInstances(cfg.InstancesMode, cfg.Instances, opts)

	cfg.Entry = res.entry
	if res.buildDir != "" {
		if err := buildEntry(cfg, res.buildDir, opts); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// countInstances resolves -i auto and max; n is the fixed count otherwise.
func countInstances(mode InstancesMode, n int, opts LoadOptions) int {
	h := cpuHost{root: opts.SysRoot, affinity: opts.Affinity, numCPU: opts.NumCPU}
	if h.root == nil {
		h.root = os.DirFS("/")
	}
	if h.affinity == nil {
		h.affinity = affinityCPUs
	}
	if h.numCPU == nil {
		h.numCPU = runtime.NumCPU
	}
	switch mode {
	case InstancesAuto:
		return h.usableCPUs()
	case InstancesMax:
		return h.onlineCPUs()
	}
	return n
}

// buildEntry builds the Go main package dir and points cfg.Entry at the
// result; the workers run in the source directory.
func buildEntry(cfg *Config, dir string, opts LoadOptions) error {
	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	cache := opts.CacheDir
	if cache == "" {
		base, ok := lookup("XDG_CACHE_HOME")
		if !ok || !filepath.IsAbs(base) {
			home, ok := lookup("HOME")
			if !ok || !filepath.IsAbs(home) {
				return usagef("entry %s is Go source but no cache directory is known: set XDG_CACHE_HOME or HOME", dir)
			}
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "node-agent", "build")
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	r, err := (&Builder{CacheDir: cache, Go: gobuild.Tool{Path: opts.GoTool, LookupEnv: lookup}}).Build(ctx, dir)
	if err != nil {
		return err
	}
	cfg.Entry.Path, cfg.Entry.Dir, cfg.Entry.SourceDir, cfg.Entry.BuildCache = r.Path, dir, dir, cache
	return nil
}
