package provider

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The configuration syntax is a small subset of TOML, enough for the
// gateway and parsed here so that every error names its line and key:
//
//	# comment
//	key = "string" | 123 | 0.5 | true | ["a", "b"]
//	[section.name]
//
// Strings are double-quoted with Go/TOML escapes (\" \\ \n \t \uXXXX).
// Keys and section name parts are letters, digits, '_' and '-'.

// ParseError is a configuration error at one line of one file.
type ParseError struct {
	File string
	Line int    // 1-based; 0 when the error concerns the whole file
	Key  string // dotted key ("retry.max_attempts") or section ("[provider.x]"), "" for a syntax error
	Msg  string
}

func (e *ParseError) Error() string {
	s := e.File
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
	}
	if e.Key != "" {
		s += ": " + e.Key
	}
	return s + ": " + e.Msg
}

// maxLineBytes bounds one line of a configuration file.
const maxLineBytes = 64 << 10

type valueKind int

const (
	kindString valueKind = iota
	kindInt
	kindFloat
	kindBool
	kindArray
)

// entry is one key = value line.
type entry struct {
	section string // "" for the top level
	key     string
	line    int
	kind    valueKind
	s       string   // kindString
	i       int64    // kindInt
	f       float64  // kindFloat (and kindInt)
	b       bool     // kindBool
	arr     []string // kindArray, strings only
}

// fullKey is section.key, or key at the top level.
func (e entry) fullKey() string {
	if e.section == "" {
		return e.key
	}
	return e.section + "." + e.key
}

func (e entry) errorf(file, format string, args ...any) error {
	return &ParseError{File: file, Line: e.line, Key: e.fullKey(), Msg: fmt.Sprintf(format, args...)}
}

var errNotString = errors.New(`want a quoted string, such as "value"`)

func (e entry) str() (string, error) {
	if e.kind != kindString {
		return "", errNotString
	}
	return e.s, nil
}

// document is a parsed file: its key = value lines in order, and the line
// of each section header.
type document struct {
	entries  []entry
	sections map[string]int
	order    []string // section names in file order
}

// parseDocument parses r. Each key may appear once per section; each section
// header once.
func parseDocument(file string, r io.Reader) (document, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLineBytes)
	var out []entry
	section := ""
	seenKeys := map[string]int{}
	seenSections := map[string]int{}
	var order []string
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		fail := func(key, format string, args ...any) error {
			return &ParseError{File: file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
		}
		if text == "" || text[0] == '#' {
			continue
		}
		if text[0] == '[' {
			name, rest, ok := strings.Cut(text[1:], "]")
			if !ok {
				return document{}, fail("", "section header without ']'")
			}
			if rest = strings.TrimSpace(rest); rest != "" && rest[0] != '#' {
				return document{}, fail("", "text after the section header")
			}
			name = strings.TrimSpace(name)
			if err := checkDotted(name); err != nil {
				return document{}, fail("["+name+"]", "%v", err)
			}
			if prev, dup := seenSections[name]; dup {
				return document{}, fail("["+name+"]", "section repeated (first at line %d)", prev)
			}
			seenSections[name] = line
			order = append(order, name)
			section = name
			continue
		}
		k, v, ok := strings.Cut(text, "=")
		if !ok {
			return document{}, fail("", "want key = value, a [section] or a # comment")
		}
		k = strings.TrimSpace(k)
		if !isBareKey(k) {
			return document{}, fail("", "invalid key %q: use letters, digits, '_' and '-'", k)
		}
		e := entry{section: section, key: k, line: line}
		full := e.fullKey()
		if prev, dup := seenKeys[full]; dup {
			return document{}, fail(full, "key repeated (first at line %d)", prev)
		}
		seenKeys[full] = line
		if err := parseValue(&e, strings.TrimSpace(v)); err != nil {
			return document{}, fail(full, "%v", err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return document{}, &ParseError{File: file, Line: line + 1, Msg: err.Error()}
	}
	return document{entries: out, sections: seenSections, order: order}, nil
}

func checkDotted(name string) error {
	if name == "" {
		return errors.New("empty section name")
	}
	for _, part := range strings.Split(name, ".") {
		if !isBareKey(part) {
			return fmt.Errorf("invalid section name %q: dot-separated parts of letters, digits, '_' and '-'", name)
		}
	}
	return nil
}

func isBareKey(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// parseValue parses v (trimmed, possibly followed by a comment) into e.
func parseValue(e *entry, v string) error {
	if v == "" {
		return errors.New("missing value")
	}
	var rest string
	switch {
	case v[0] == '"':
		s, r, err := parseString(v)
		if err != nil {
			return err
		}
		e.kind, e.s, rest = kindString, s, r
	case v[0] == '[':
		arr, r, err := parseArray(v)
		if err != nil {
			return err
		}
		e.kind, e.arr, rest = kindArray, arr, r
	default:
		word, _, _ := strings.Cut(v, "#")
		word = strings.TrimSpace(word)
		switch {
		case word == "true" || word == "false":
			e.kind, e.b = kindBool, word == "true"
		default:
			if i, err := strconv.ParseInt(strings.ReplaceAll(word, "_", ""), 10, 64); err == nil {
				e.kind, e.i, e.f = kindInt, i, float64(i)
			} else if f, err := strconv.ParseFloat(word, 64); err == nil && !strings.ContainsAny(word, "xXpP_") {
				e.kind, e.f = kindFloat, f
			} else {
				return fmt.Errorf("invalid value %q: strings need double quotes", word)
			}
		}
	}
	if rest = strings.TrimSpace(rest); rest != "" && rest[0] != '#' {
		return fmt.Errorf("unexpected %q after the value", rest)
	}
	return nil
}

// parseString parses the double-quoted string at the start of v and returns
// it and the text after it.
func parseString(v string) (string, string, error) {
	for i := 1; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			s, err := strconv.Unquote(v[:i+1])
			if err != nil {
				return "", "", fmt.Errorf("invalid string %s: %v", v[:i+1], err)
			}
			return s, v[i+1:], nil
		}
	}
	return "", "", errors.New("string without closing quote")
}

// parseArray parses a one-line array of strings at the start of v.
func parseArray(v string) ([]string, string, error) {
	arr := []string{}
	rest := strings.TrimSpace(v[1:])
	for {
		if rest == "" {
			return nil, "", errors.New("array without closing ']'")
		}
		if rest[0] == ']' {
			return arr, rest[1:], nil
		}
		if rest[0] != '"' {
			return nil, "", errors.New(`want an array of quoted strings, such as ["a", "b"]`)
		}
		s, r, err := parseString(rest)
		if err != nil {
			return nil, "", err
		}
		arr = append(arr, s)
		rest = strings.TrimSpace(r)
		if rest != "" && rest[0] == ',' {
			rest = strings.TrimSpace(rest[1:])
		} else if rest == "" || rest[0] != ']' {
			return nil, "", errors.New("want ',' or ']' after an array element")
		}
	}
}
