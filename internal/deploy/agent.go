package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// resolveAgent returns the path of the agent binary to package and the
// version to record for it. Without Options.Agent the running executable is
// used, which is right only when the target is the host platform. The
// binary's header must name the target platform; Force turns a mismatch or an
// unreadable header into a warning.
func (o *Options) resolveAgent(goos, goarch string) (path, version string, err error) {
	path = o.Agent
	if path == "" {
		if (goos != runtime.GOOS || goarch != runtime.GOARCH) && !o.Force {
			return "", "", fmt.Errorf("%w: the target is %s/%s but this agent runs on %s/%s: pass --agent PATH to a node-agent built for %s/%s (GOOS=%s GOARCH=%s go build), or -f to package this one anyway",
				ErrAgent, goos, goarch, runtime.GOOS, runtime.GOARCH, goos, goarch, goos, goarch)
		}
		exe, err := os.Executable()
		if err != nil {
			return "", "", fmt.Errorf("%w: cannot find the running executable: %w; pass --agent PATH", ErrAgent, err)
		}
		path = exe
	}
	path, err = filepath.Abs(path)
	if err != nil {
		return "", "", fmt.Errorf("%w: %w", ErrAgent, err)
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", "", fmt.Errorf("%w: %w", ErrAgent, err)
	}
	if !fi.Mode().IsRegular() {
		return "", "", fmt.Errorf("%w: %s is not a regular file", ErrAgent, path)
	}

	gotOS, gotArch, err := binaryPlatform(path)
	switch {
	case err != nil:
		err = fmt.Errorf("%w: %s: %w", ErrAgent, path, err)
	case gotOS != goos || gotArch != goarch:
		err = fmt.Errorf("%w: %s is built for %s/%s, the target is %s/%s: pass --agent PATH to a node-agent built for %s/%s, or -f to package it anyway",
			ErrAgent, path, orUnknown(gotOS), orUnknown(gotArch), goos, goarch, goos, goarch)
	}
	if err != nil {
		if !o.Force {
			return "", "", err
		}
		o.warn(fmt.Sprintf("packaging anyway (-f): %v", err))
	}

	version = o.AgentVersion
	if version == "" {
		version = goModuleVersion(path)
	}
	if version == "" {
		version = "unknown"
	}
	return path, version, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func (o *Options) warn(msg string) {
	if o.Warn != nil {
		o.Warn(msg)
	}
}

func (o *Options) progress(percent int, step string) {
	if o.Progress != nil {
		o.Progress(percent, step)
	}
}
