package config

import (
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// entryNames are the executables looked for in a directory ENTRY after the
// manifest and the executable named like the directory.
var entryNames = []string{"server", "app", "start", "index"}

// resolution is the outcome of entry resolution, before any Go build.
type resolution struct {
	// entry is the resolved entry. When buildDir is set, Path and Dir are
	// left for the build to fill in.
	entry Entry
	// buildDir is the Go main package directory to build, or "".
	buildDir string
	// manifest is the node-agent.json of a directory entry, or nil.
	manifest *manifest
	// defaultName is the service name when none is configured.
	defaultName string
}

// resolveEntry resolves ENTRY (arg; relative to cwd) as SPEC §4 says:
//
//   - an executable file (any x bit) is run as is;
//   - a directory: its node-agent.json ("main" relative to the directory,
//     naming an executable or a Go main package directory), else the first
//     executable file among DIRNAME, server, app, start, index, else the Go
//     main package of the directory (go/build, _test files ignored), built
//     later.
//
// Every failure is a *UsageError that names what was searched.
func resolveEntry(arg, cwd string) (resolution, error) {
	if arg == "" {
		return resolution{}, usagef("no ENTRY given: want an executable, a directory or a Go main package directory (usage: %s)", Usage)
	}
	p := arg
	if !filepath.IsAbs(p) {
		p = filepath.Join(cwd, p)
	}
	p = filepath.Clean(p)
	fi, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return resolution{}, usagef("entry %s: no such file or directory", arg)
		}
		return resolution{}, usageWrap(err, "entry %s", arg)
	}
	switch {
	case fi.Mode().IsRegular():
		if err := checkExecutable(p, fi); err != nil {
			return resolution{}, usageWrap(err, "entry %s", arg)
		}
		return resolution{
			entry:       Entry{Path: p, Dir: filepath.Dir(p)},
			defaultName: nameFromPath(p),
		}, nil
	case fi.IsDir():
		r, err := resolveDir(p)
		if err != nil {
			return resolution{}, err
		}
		r.defaultName = nameFromPath(p)
		return r, nil
	}
	return resolution{}, usagef("entry %s is neither a file nor a directory", arg)
}

// resolveDir applies the directory rules of resolveEntry to dir (absolute).
func resolveDir(dir string) (resolution, error) {
	var r resolution
	mpath := filepath.Join(dir, ManifestName)
	if _, err := os.Stat(mpath); err == nil {
		m, err := readManifest(mpath)
		if err != nil {
			return r, err
		}
		r.manifest = m
		r.entry.Manifest = mpath
		if m.main != "" {
			return resolveManifestMain(r, m)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return r, usageWrap(err, "reading manifest %s", mpath)
	}

	names := append([]string{filepath.Base(dir)}, entryNames...)
	var skipped []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if fi.Mode().Perm()&0o111 == 0 {
			skipped = append(skipped, n)
			continue
		}
		r.entry.Path, r.entry.Dir = p, dir
		return r, nil
	}

	isMain, err := isGoMainPackage(dir)
	if err != nil {
		return r, usageWrap(err, "entry %s", dir)
	}
	if isMain {
		r.buildDir = dir
		r.entry.SourceDir = dir
		return r, nil
	}
	msg := fmt.Sprintf("no entry found in directory %s: searched %s (\"main\"), the executables %s, and a Go main package",
		dir, ManifestName, strings.Join(names, ", "))
	if len(skipped) > 0 {
		msg += fmt.Sprintf(" (found %s but without an x bit: chmod +x)", strings.Join(skipped, ", "))
	}
	return r, usagef("%s", msg)
}

// resolveManifestMain resolves the manifest's "main": an executable file or
// a Go main package directory, relative to the manifest's directory.
func resolveManifestMain(r resolution, m *manifest) (resolution, error) {
	where := fileWhere("main", m.path)
	p := m.main
	if !filepath.IsAbs(p) {
		p = filepath.Join(m.dir, p)
	}
	p = filepath.Clean(p)
	fi, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return r, usagef("%s: %s: no such file or directory", where, p)
		}
		return r, usageWrap(err, "%s", where)
	}
	switch {
	case fi.Mode().IsRegular():
		if err := checkExecutable(p, fi); err != nil {
			return r, usageWrap(err, "%s", where)
		}
		r.entry.Path, r.entry.Dir = p, filepath.Dir(p)
		return r, nil
	case fi.IsDir():
		isMain, err := isGoMainPackage(p)
		if err != nil {
			return r, usageWrap(err, "%s", where)
		}
		if !isMain {
			return r, usagef("%s: %s is a directory without a Go main package: want an executable or a Go main package directory", where, p)
		}
		r.buildDir, r.entry.SourceDir = p, p
		return r, nil
	}
	return r, usagef("%s: %s is neither a file nor a directory", where, p)
}

// checkExecutable insists on an x bit; a .go file gets a hint.
func checkExecutable(p string, fi fs.FileInfo) error {
	if fi.Mode().Perm()&0o111 != 0 {
		return nil
	}
	if strings.HasSuffix(p, ".go") {
		return fmt.Errorf("%s is a Go source file: give its package directory instead", p)
	}
	return fmt.Errorf("%s is not executable (no x bit): chmod +x it, or give a directory", p)
}

// isGoMainPackage reports whether dir holds a Go package named main for the
// current build context (_test.go files do not count). A directory without
// Go files is not one; unreadable or conflicting Go files are an error.
func isGoMainPackage(dir string) (bool, error) {
	pkg, err := build.ImportDir(dir, 0)
	if err != nil {
		var noGo *build.NoGoError
		if errors.As(err, &noGo) {
			return false, nil
		}
		return false, fmt.Errorf("reading the Go package in %s: %w", dir, err)
	}
	// A directory of _test.go files only is not NoGoError, but no package.
	return pkg.Name == "main" && len(pkg.GoFiles)+len(pkg.CgoFiles) > 0, nil
}

// nameFromPath derives the default service name: the base name without its
// extension ("gateway.bin" → "gateway"); "" when that is not a usable name.
func nameFromPath(p string) string {
	base := filepath.Base(p)
	if ext := filepath.Ext(base); ext != "" && ext != base {
		base = strings.TrimSuffix(base, ext)
	}
	if checkName(base) != nil {
		return ""
	}
	return base
}
