package deploy

import (
	"fmt"
	"maps"
	"regexp"
	"runtime"
	"slices"

	"github.com/nodeagent/node-agent/internal/agent/config"
	"github.com/nodeagent/node-agent/internal/manifest"
)

// ManifestName is the file name of the manifest inside a package, beside the
// agent binary. The agent reads it as its option file (SPEC §4, §14).
const ManifestName = manifest.FileName

// ManifestVersion is the manifest schema version written by Build and
// accepted by Verify.
const ManifestVersion = 1

// DefaultVersion is the service version used when --version is not given and
// `git describe` does not work in the service directory.
const DefaultVersion = "0.0.0-dev"

// DefaultEpoch is the time stamp of every entry when neither SOURCE_DATE_EPOCH
// nor a git commit gives one: 1980-01-01T00:00:00Z, the oldest time a zip file
// can hold, used for the same purpose by other reproducible-build tools.
const DefaultEpoch int64 = 315532800

var (
	nameRE    = regexp.MustCompile(`^[0-9A-Za-z]+$`)
	versionRE = regexp.MustCompile(`^[0-9A-Za-z._+~:@/-]+$`)
)

// Options describes one package build. The zero value of every optional field
// means "the documented default".
type Options struct {
	// Name is the server name (TARS "Server", not "App.Server"); it must match
	// ^[0-9A-Za-z]+$. It names the tarball, its two top directories, the agent
	// binary and the service binary.
	Name string
	// Dir is the directory of the service's main package; "" is the current
	// directory. It may sit anywhere inside a Go module.
	Dir string
	// Output is the tarball path; "" is NAME.tgz in the current directory.
	// An existing directory means NAME.tgz inside it. NAME.tgz.sha256 is
	// written beside it.
	Output string
	// GOOS and GOARCH are the target platform; "" is the host's.
	GOOS, GOARCH string
	// CGO builds the service with CGO_ENABLED=1 (default 0: a static binary
	// whose bytes do not depend on the host's C toolchain).
	CGO bool
	// Version is stamped into the service (-X main.version=) and recorded in
	// the manifest; "" is `git describe --tags --always --dirty` in Dir, else
	// DefaultVersion. It must not contain spaces or quotes.
	Version string
	// Agent is the path of the agent binary to package as NAME/NAME/NAME; ""
	// is the running executable, allowed only when the target platform is the
	// host's. Its ELF/Mach-O/PE header must match the target platform unless
	// Force is set.
	Agent string
	// AgentVersion is recorded in the manifest; "" is the module version
	// found in Agent's Go build information, or "unknown".
	AgentVersion string
	// Force packages an agent whose platform does not match the target (or
	// cannot be read), with a warning instead of an error.
	Force bool
	// Include are glob patterns (path/filepath.Match syntax, slash or OS
	// separators) relative to Dir naming extra files or directories to ship
	// at the same relative path under NAME/NAME/. See the package
	// documentation for what is refused and what is always skipped.
	Include []string
	// AgentOptions are written into the manifest as the agent's default
	// options: long option names of SPEC §2 without dashes ("instances",
	// "http-address") to values as given on the command line. A TARS config
	// or the command line overrides them at run time.
	AgentOptions map[string]string
	// Env is the environment of the go and git subprocesses and the source of
	// SOURCE_DATE_EPOCH; nil is os.Environ().
	Env []string
	// Progress, when not nil, is called at each step with a completion
	// percentage and a short description ("building service").
	Progress func(percent int, step string)
	// Warn, when not nil, receives warnings (for example a forced platform
	// mismatch); they are dropped otherwise.
	Warn func(msg string)
}

// IsAgentOption reports whether key may appear in a manifest as an agent
// option (a long option name of SPEC §2 other than "name").
func IsAgentOption(key string) bool { return manifest.IsOption(key) }

// ValidName reports whether name is a legal package and server name.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// checkName returns an ErrBadName error for an illegal name.
func checkName(name string) error {
	if !ValidName(name) {
		return fmt.Errorf("%w: %q must be letters and digits only, e.g. GatewayServer", ErrBadName, name)
	}
	return nil
}

// checkVersion refuses versions that cannot be passed through -ldflags.
func checkVersion(v string) error {
	if !versionRE.MatchString(v) {
		return fmt.Errorf("%w: %q may hold only letters, digits and ._+~:@/-", ErrBadVersion, v)
	}
	return nil
}

// target returns the target platform with host defaults filled in.
func (o *Options) target() (goos, goarch string) {
	goos, goarch = o.GOOS, o.GOARCH
	if goos == "" {
		goos = runtime.GOOS
	}
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	return goos, goarch
}

// checkAgentOptions validates the manifest options: their keys, and their
// values with the agent's own parser (config.CheckOption), in key order.
func checkAgentOptions(opts map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		if k == manifest.KeyName || k == manifest.KeyMain {
			return fmt.Errorf("%w: %q is set by deploy itself", ErrBadOption, k)
		}
		if !IsAgentOption(k) {
			return fmt.Errorf("%w: %q is not a long option name of node-agent (e.g. instances, http-address)", ErrBadOption, k)
		}
		if err := config.CheckOption(k, opts[k]); err != nil {
			return fmt.Errorf("%w: %v", ErrBadOption, err)
		}
	}
	return nil
}
