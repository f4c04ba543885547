package deploy

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// junkNames are base names that are never packaged, at any depth: version
// control and IDE metadata, the packager's own artefacts and OS litter.
var junkNames = map[string]bool{
	".git": true, ".gitignore": true, ".gitattributes": true, ".gitmodules": true,
	".svn": true, "_svn": true, "_git": true, ".hg": true, ".hgignore": true,
	".bzr": true, "CVS": true, ".idea": true, ".vscode": true, ".DS_Store": true,
	"Thumbs.db": true, "_tmp_dir": true,
}

// junkSuffixes are name endings that are never packaged: earlier tarballs and
// their checksums, editor swap and backup files.
var junkSuffixes = []string{".tgz", ".tgz.sha256", ".swp", "~"}

// isJunk reports whether a base name is never packaged.
func isJunk(base string) bool {
	if junkNames[base] {
		return true
	}
	for _, s := range junkSuffixes {
		if strings.HasSuffix(base, s) {
			return true
		}
	}
	return false
}

// includer expands --include patterns into package entries.
type includer struct {
	dir     string // package directory, absolute, symlinks resolved
	module  string // module root, absolute, symlinks resolved
	name    string // NAME, whose paths in the package are reserved
	entries map[string]entry
}

// collectIncludes expands patterns relative to dir into entries at the same
// relative path under NAME/NAME/. A pattern is refused when it is absolute,
// has a ".." element, is malformed or matches nothing (after junk is
// skipped); a match that is, or leads through, a symlink resolving outside
// moduleDir is refused; directories are walked recursively, following
// symlinks that stay inside the module. Devices, sockets and pipes are
// refused; junk (isJunk) is skipped silently.
func collectIncludes(dir, moduleDir, name string, patterns []string) ([]entry, error) {
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInclude, err)
	}
	realMod, err := filepath.EvalSymlinks(moduleDir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInclude, err)
	}
	in := &includer{dir: realDir, module: realMod, name: name, entries: map[string]entry{}}
	for _, p := range patterns {
		if err := in.pattern(p); err != nil {
			return nil, err
		}
	}
	out := make([]entry, 0, len(in.entries))
	for _, e := range in.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

func (in *includer) pattern(p string) error {
	slashed := filepath.ToSlash(p)
	switch {
	case p == "":
		return fmt.Errorf("%w: empty pattern", ErrInclude)
	case filepath.IsAbs(p) || path.IsAbs(slashed) || filepath.VolumeName(p) != "":
		return fmt.Errorf("%w: %q is absolute; patterns are relative to the service directory", ErrInclude, p)
	case hasDotDot(slashed):
		return fmt.Errorf("%w: %q has a \"..\" element; patterns must stay inside the service directory", ErrInclude, p)
	}
	matches, err := filepath.Glob(filepath.Join(in.dir, filepath.FromSlash(path.Clean(slashed))))
	if err != nil {
		return fmt.Errorf("%w: %q: %w", ErrInclude, p, err)
	}
	before := len(in.entries)
	for _, m := range matches {
		rel, err := filepath.Rel(in.dir, m)
		if err != nil || rel == "." {
			return fmt.Errorf("%w: %q matches the service directory itself; name files or subdirectories", ErrInclude, p)
		}
		if hasJunkElem(filepath.ToSlash(rel)) {
			continue
		}
		if err := in.add(m, filepath.ToSlash(rel), map[string]bool{}); err != nil {
			return fmt.Errorf("%w (pattern %q)", err, p)
		}
	}
	if len(in.entries) == before {
		return fmt.Errorf("%w: %q matches no file to package", ErrInclude, p)
	}
	return nil
}

// add packages the file or directory at p (on disk) as rel (in the package).
// seen holds the real paths of the directories being walked, against loops.
func (in *includer) add(p, rel string, seen map[string]bool) error {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInclude, rel, err)
	}
	if !within(in.module, real) {
		return fmt.Errorf("%w: %s resolves to %s, outside the module %s", ErrInclude, rel, real, in.module)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInclude, rel, err)
	}
	switch {
	case fi.IsDir():
		return in.addDir(real, rel, seen)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%w: %s is a %v, not a regular file", ErrInclude, rel, fi.Mode().Type())
	}
	if err := in.reserved(rel); err != nil {
		return err
	}
	e := entry{path: rel, src: real, mode: packMode(fi.Mode())}
	if err := e.hashFile(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInclude, rel, err)
	}
	in.entries[rel] = e
	return nil
}

func (in *includer) addDir(real, rel string, seen map[string]bool) error {
	if seen[real] {
		return fmt.Errorf("%w: %s: symlink loop", ErrInclude, rel)
	}
	seen[real] = true
	defer delete(seen, real)
	list, err := os.ReadDir(real)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInclude, rel, err)
	}
	for _, d := range list {
		if isJunk(d.Name()) {
			continue
		}
		if err := in.add(filepath.Join(real, d.Name()), rel+"/"+d.Name(), seen); err != nil {
			return err
		}
	}
	return nil
}

// reserved refuses paths that would replace the package's own files.
func (in *includer) reserved(rel string) error {
	first, _, _ := strings.Cut(rel, "/")
	if first == in.name || first == "app" || first == ManifestName {
		return fmt.Errorf("%w: %s collides with the package's own %s; move or rename it", ErrInclude, rel, first)
	}
	return nil
}

// within reports whether p is root or below it (both clean and absolute).
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func hasDotDot(slashed string) bool {
	for _, el := range strings.Split(slashed, "/") {
		if el == ".." {
			return true
		}
	}
	return false
}

func hasJunkElem(rel string) bool {
	for _, el := range strings.Split(rel, "/") {
		if isJunk(el) {
			return true
		}
	}
	return false
}
