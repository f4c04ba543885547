package provider

import (
	"fmt"
	"io"
	"os"
)

// Settings is a file in the config syntax parsed for another package (the
// gateway's applications file, package auth): its key = value lines in
// order and its section headers in order, so that files of other shapes
// share the syntax and its one-line errors.
type Settings struct {
	Values   []Setting
	Sections []Section
}

// Section is one [name] header.
type Section struct {
	Name string
	Line int
}

// Setting is one key = value line.
type Setting struct{ e entry }

// Section returns the section the line is in, "" at the top level.
func (s Setting) Section() string { return s.e.section }

// Key returns the key.
func (s Setting) Key() string { return s.e.key }

// Errorf returns a *ParseError at the line, naming section.key.
func (s Setting) Errorf(file, format string, args ...any) error {
	return s.e.errorf(file, format, args...)
}

// Strings returns an array of strings.
func (s Setting) Strings() ([]string, bool) { return s.e.arr, s.e.kind == kindArray }

// Int returns an integer value.
func (s Setting) Int() (int64, bool) { return s.e.i, s.e.kind == kindInt }

// Number returns an integer or floating-point value.
func (s Setting) Number() (float64, bool) {
	return s.e.f, s.e.kind == kindInt || s.e.kind == kindFloat
}

// Bool returns a true or false value.
func (s Setting) Bool() (bool, bool) { return s.e.b, s.e.kind == kindBool }

// ParseSettings parses r in the config syntax; file names it in errors,
// which are *ParseError.
func ParseSettings(file string, r io.Reader) (Settings, error) {
	doc, err := parseDocument(file, r)
	if err != nil {
		return Settings{}, err
	}
	out := Settings{Values: make([]Setting, len(doc.entries))}
	for i, e := range doc.entries {
		out.Values[i] = Setting{e}
	}
	for _, name := range doc.order {
		out.Sections = append(out.Sections, Section{Name: name, Line: doc.sections[name]})
	}
	return out, nil
}

// ReadPrivateFile reads the file at path after checking that only its
// owner, the service user, can read it: a regular file owned by the
// current user with no group or other permission bits (chmod 600 or 400),
// as for credentials files. Errors wrap ErrCredentials and name the file,
// never its content.
func ReadPrivateFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	if err := checkPrivate(path, fi); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCredentials, path, err)
	}
	return data, nil
}
