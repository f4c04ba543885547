package watch

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// maxLinks bounds the symlinks followed to resolve a path, as the kernel's
// ELOOP limit does.
const maxLinks = 40

// errLoop is returned by resolve for a symlink cycle.
var errLoop = errors.New("too many levels of symbolic links")

// fileTarget follows one file named by a path that may cross symlinks: the
// path's own directory entry, every symlink crossed on the way to the file
// (so a swap of any of them is seen) and the final file (writes in place).
// It is owned by the watcher's goroutine.
type fileTarget struct {
	path string // absolute and clean, as given
	// names are the paths whose events matter: path, each symlink crossed
	// and the final file. Their directories are watched.
	names map[string]bool
	final string // the file reached, or "" while it is missing

	reported  identity // of the final file at the start or at the last report
	candidate identity // seen at the last quiet expiry, awaiting confirmation
	written   bool     // the final file was written to since the last expiry
	timer     *time.Timer
}

// identity tells whether a file was replaced or rewritten.
type identity struct {
	ok         bool // the file exists
	dev, ino   uint64
	size       int64
	mtimeNanos int64
}

func statIdentity(path string) identity {
	fi, err := os.Stat(path)
	if err != nil {
		return identity{}
	}
	id := identity{ok: true, size: fi.Size(), mtimeNanos: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino = uint64(st.Dev), st.Ino
	}
	return id
}

// newFileTarget resolves path and records the identity of its file, which
// must exist.
func newFileTarget(path string) (*fileTarget, error) {
	t := &fileTarget{path: filepath.Clean(path), timer: stoppedTimer()}
	if err := t.resolve(); err != nil {
		return nil, err
	}
	t.reported = statIdentity(t.final)
	if !t.reported.ok {
		return nil, &os.PathError{Op: "stat", Path: path, Err: os.ErrNotExist}
	}
	return t, nil
}

// resolve recomputes names and final. A path that does not resolve (yet:
// between a remove and a create) keeps its names so its appearance is seen.
func (t *fileTarget) resolve() error {
	final, links, err := resolve(t.path)
	t.names = map[string]bool{t.path: true}
	for _, l := range links {
		t.names[l] = true
	}
	if err != nil {
		t.final = ""
		return err
	}
	t.final = final
	t.names[final] = true
	return nil
}

// dirs returns the directories to watch for the names.
func (t *fileTarget) dirs() []string {
	var out []string
	seen := map[string]bool{}
	for n := range t.names {
		d := filepath.Dir(n)
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// touched reports whether an event on name concerns the target, noting a
// write to the final file.
func (t *fileTarget) touched(name string, write bool) bool {
	if !t.names[name] {
		return false
	}
	if write && name == t.final {
		t.written = true
	}
	return true
}

// settle runs when the target has been quiet for the debounce. It reports
// whether the file is a new, complete one to announce; again is true when
// it must be checked once more after another quiet debounce: it was being
// written in place, and its size and time must first stay stable.
func (t *fileTarget) settle() (changed, again bool) {
	t.resolve() // a missing file leaves final ""
	id := identity{}
	if t.final != "" {
		id = statIdentity(t.final)
	}
	written := t.written
	t.written = false
	switch {
	case !id.ok || id == t.reported:
		t.candidate = identity{}
		return false, false
	case written || id != t.candidate && t.candidate.ok:
		// Written in place (or changed since the last look): complete only
		// once it stays the same for a whole quiet period.
		t.candidate = id
		return false, true
	}
	// Landed by rename or symlink swap (atomic), or confirmed stable.
	t.reported, t.candidate = id, identity{}
	return true, false
}

// resolve follows path's symlinks component by component, like
// filepath.EvalSymlinks, and also returns the absolute path of every
// symlink crossed.
func resolve(path string) (final string, links []string, err error) {
	todo := strings.Split(strings.TrimPrefix(filepath.Clean(path), "/"), "/")
	cur := "/"
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		if c == "" || c == "." {
			continue
		}
		next := filepath.Join(cur, c)
		fi, err := os.Lstat(next)
		if err != nil {
			return "", links, err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			cur = next
			continue
		}
		if len(links) == maxLinks {
			return "", links, &os.PathError{Op: "resolve", Path: path, Err: errLoop}
		}
		links = append(links, next)
		target, err := os.Readlink(next)
		if err != nil {
			return "", links, err
		}
		if filepath.IsAbs(target) {
			cur = "/"
		}
		todo = append(strings.Split(strings.TrimPrefix(filepath.Clean(target), "/"), "/"), todo...)
	}
	return cur, links, nil
}

// stoppedTimer returns a timer that is not running; Reset arms it.
func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}
