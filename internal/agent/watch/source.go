package watch

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// sourceTree is the Go module around the entry's package: the directories
// whose files can be inputs of its build.
type sourceTree struct {
	root   string          // the module root (the directory of go.mod), or the package directory
	pkg    string          // the entry's package directory, at or below root
	ignore map[string]bool // absolute paths left out, with what is below them
}

// newSourceTree finds the module of the package in dir: the nearest
// directory at or above dir holding go.mod (dir itself when none does).
func newSourceTree(dir string, ignore []string) *sourceTree {
	dir = filepath.Clean(dir)
	s := &sourceTree{root: dir, pkg: dir, ignore: map[string]bool{}}
	for d := dir; ; d = filepath.Dir(d) {
		if fi, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && fi.Mode().IsRegular() {
			s.root = d
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	for _, p := range ignore {
		if p != "" {
			s.ignore[filepath.Clean(p)] = true
		}
	}
	return s
}

// contains reports whether path is in the tree: below the root, not
// ignored, and neither in nor itself a skipped directory.
func (s *sourceTree) contains(path string) bool {
	rel, err := filepath.Rel(s.root, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return false
	}
	if rel == "." {
		return true
	}
	p := s.root
	// A skipped name above the package (testdata/ of testdata/gateway)
	// is only a way through: what is below it is in the tree only on the
	// way to the package.
	through := false
	for _, c := range strings.Split(rel, "/") {
		p = filepath.Join(p, c)
		leads := s.leadsToPackage(p)
		if s.ignore[p] || (skipDir(c) && !leads) || (through && !leads) {
			return false
		}
		through = skipDir(c) && p != s.pkg || through && p != s.pkg && leads
	}
	return true
}

// walk calls add for every directory of the tree at or below dir. A nested
// module (a directory with its own go.mod) is not part of the tree.
func (s *sourceTree) walk(dir string, add func(string) error) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil // vanished meanwhile
		}
		if !d.IsDir() {
			return nil
		}
		if p != s.root && (!s.contains(p) || isModule(p)) {
			return filepath.SkipDir
		}
		return add(p)
	})
}

// leadsToPackage reports whether dir is the entry's package directory or
// one above it: such a directory is part of the tree even when the go tool
// skips its name elsewhere (an entry under testdata/, as the reference
// gateway is).
func (s *sourceTree) leadsToPackage(dir string) bool {
	return dir == s.pkg || strings.HasPrefix(s.pkg, dir+string(filepath.Separator))
}

// relevant reports whether a change to the file at path may change the
// build: any file of the tree but editor and VCS leftovers, test files and
// the names the go tool ignores. Which files a build embeds is known only to
// the go tool, so a change to an unrelated file costs a build that finds
// its result in the cache, and no event.
func (s *sourceTree) relevant(path string) bool {
	name := filepath.Base(path)
	return s.contains(path) && !ignoredName(name) && !strings.HasSuffix(name, "_test.go")
}

// skipDir reports directories the go tool ignores (".x", "_x", testdata)
// and version-control directories.
func skipDir(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata"
}

// ignoredName reports editor temporary files and names the go tool skips:
// vim swap files and its 4913 write test, backups ending in ~, emacs lock
// and autosave files, and hidden or underscore-prefixed files.
func ignoredName(name string) bool {
	switch {
	case name == "4913",
		strings.HasPrefix(name, "."), strings.HasPrefix(name, "_"),
		strings.HasSuffix(name, "~"),
		strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"),
		strings.HasSuffix(name, ".swp"), strings.HasSuffix(name, ".swx"), strings.HasSuffix(name, ".swo"):
		return true
	}
	return false
}

func isModule(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, "go.mod"))
	return err == nil && fi.Mode().IsRegular()
}
