package deploy

import (
	"errors"
	"fmt"

	"github.com/nodeagent/node-agent/internal/gobuild"
)

// Sentinel errors. Every error returned by Build and Verify wraps one of them,
// so callers can branch with errors.Is; the message says what to do.
var (
	// ErrBadName: NAME does not match ^[0-9A-Za-z]+$.
	ErrBadName = errors.New("illegal name")
	// ErrBadVersion: the version cannot be stamped with -ldflags.
	ErrBadVersion = errors.New("illegal version")
	// ErrBadOption: a manifest option key is not an agent option.
	ErrBadOption = errors.New("illegal manifest option")
	// ErrNotMain: Dir is not a Go main package inside a module.
	ErrNotMain = errors.New("not a Go main package")
	// ErrAgent: the agent binary is missing, unreadable, or for another
	// platform than the target (without Force).
	ErrAgent = errors.New("agent binary")
	// ErrInclude: an --include pattern is unsafe, matches nothing, or
	// collides with the package's own files.
	ErrInclude = errors.New("include")
	// ErrBuild: `go build` of the service failed; see *BuildError.
	ErrBuild = errors.New("build failed")
	// ErrInvalid: Verify found the package broken or tampered with.
	ErrInvalid = errors.New("invalid package")
)

// BuildError is returned (wrapped) when `go build` of the service fails.
type BuildError struct {
	Dir    string // the package directory
	Err    error  // the exec error (exit status)
	Output string // combined output of go build
}

// Error returns one line: the package, the exit status and the first
// diagnostic of the compiler.
func (e *BuildError) Error() string {
	msg := fmt.Sprintf("%v: go build in %s: %v", ErrBuild, e.Dir, e.Err)
	if d := gobuild.FirstDiagnostic(e.Output); d != "" {
		msg += ": " + d
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrBuild) true.
func (e *BuildError) Unwrap() []error { return []error{ErrBuild, e.Err} }

// MismatchError names the first difference Verify found between a package
// and its manifest.
type MismatchError struct {
	Path  string // path relative to NAME/NAME/, or the tar entry name
	Field string // "sha256", "mode", "size", "presence", "type", …
	Want  string // what the manifest (or the format, or NAME.tgz.sha256) requires
	Got   string // what the package holds
}

// Error names the path, the field and both values.
func (e *MismatchError) Error() string {
	return fmt.Sprintf("%v: %s: %s mismatch: expected %s, found %s", ErrInvalid, e.Path, e.Field, e.Want, e.Got)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *MismatchError) Unwrap() error { return ErrInvalid }
