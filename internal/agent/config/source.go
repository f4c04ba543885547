package config

import (
	"fmt"
	"path/filepath"
)

// A source is one layer of configuration: the command line, the TARS config
// file (-c), a node-agent.json manifest. Load asks the sources in precedence
// order and the first one that has an option decides it; an option no source
// has keeps its default. Presence is all that counts, never the value, so
// "-i auto" on the command line is never overridden by a file.
type source interface {
	// lookup returns the value of the option with the given long name and
	// whether this source sets it.
	lookup(name string) (value, bool)
}

// value is one option's raw setting as a source gave it.
type value struct {
	// text is the option's text, interpreted exactly like command-line text.
	text string
	// list is non-nil when the source gave a list (a manifest array for
	// script-args or node-args); text is then unused.
	list []string
	// where names the option and its origin for error messages:
	// `--instances` or `/srv/app/node-agent.json: "instances"`.
	where string
	// dir is the directory relative paths in this value are resolved against.
	dir string
	// err, when not nil, is reported instead of applying the value: the
	// source could not turn its setting into option text (a TARS
	// deactivating-timeout that is not a number, an endpoint without -h).
	// It is only reported when this source decides the option.
	err error
}

// errorf builds the *UsageError for a bad value: it names the option, its
// origin and the offending text, then the cause (which says what is wanted).
func (v value) errorf(err error) error {
	return usageWrap(err, "%s: bad value %q", v.where, v.text)
}

// path returns the value as an absolute path resolved against v.dir.
func (v value) path() string {
	if filepath.IsAbs(v.text) {
		return filepath.Clean(v.text)
	}
	return filepath.Join(v.dir, v.text)
}

// args returns the value as an argument list: a source's list as is, else the
// text split on white space.
func (v value) args() []string {
	if v.list != nil {
		return append([]string(nil), v.list...)
	}
	return splitArgs(v.text)
}

// mapSource is a source backed by a map; the command line and the manifest
// are both turned into one.
type mapSource map[string]value

func (m mapSource) lookup(name string) (value, bool) {
	v, ok := m[name]
	return v, ok
}

// layers is a list of sources in precedence order, highest first.
type layers []source

// lookup returns the value of the first source that sets the option.
func (ls layers) lookup(name string) (value, bool) {
	for _, s := range ls {
		if s == nil {
			continue
		}
		if v, ok := s.lookup(name); ok {
			return v, true
		}
	}
	return value{}, false
}

// cliWhere names a command-line option for error messages.
func cliWhere(name string) string { return "--" + name }

// fileWhere names a key of a configuration file for error messages.
func fileWhere(key, file string) string { return fmt.Sprintf("%s: %q", file, key) }
