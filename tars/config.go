package tars

import (
	"fmt"
	"os"
	"strings"
)

// MaxConfigSize bounds the size of a config file LoadConfig will read.
const MaxConfigSize = 16 << 20

// Config is a parsed TARS config file: a tree of domains (<name> … </name>)
// holding key=value parameters. The root domain has no name.
//
// Syntax (TarsCpp TC_Config, TarsGo util/conf): every line is trimmed; empty
// lines and lines starting with '#' are skipped (there are no trailing
// comments: "a=1 #x" has the value "1 #x"); "<name>" opens a domain and
// "</name>" closes it; any other line is a parameter split at the first '='
// that is not escaped, key and value trimmed, and a line without '=' is a
// key with an empty value (e.g. "allow"). The last duplicate key wins;
// re-opening a domain merges into it.
//
// Keys and values are unescaped as TarsCpp does (tarsnode writes them
// escaped): \\ \r \n \t \= are a backslash, CR, LF, tab and '='; any other
// backslash is a syntax error, as TarsCpp refuses the file. So
// "script-args=--mode\=prod" is the value "--mode=prod". (TarsGo does not
// unescape; a value with a backslash that is not an escape works there and
// is refused here and by TarsCpp.)
type Config struct {
	Root *ConfigDomain
}

// ConfigDomain is one <name> … </name> section.
type ConfigDomain struct {
	Name string
	Line int // line of the opening tag (0 for the root)

	keys     []string // in first-seen order
	values   map[string]string
	children []*ConfigDomain
}

// ConfigError is a syntax error at a line of a config file.
type ConfigError struct {
	File string // "" when parsed from memory
	Line int
	Msg  string
}

func (e *ConfigError) Error() string {
	file := e.File
	if file == "" {
		file = "config"
	}
	return fmt.Sprintf("%s:%d: %s", file, e.Line, e.Msg)
}

// Unwrap makes errors.Is(err, ErrConfigSyntax) true.
func (e *ConfigError) Unwrap() error { return ErrConfigSyntax }

func newDomain(name string, line int) *ConfigDomain {
	return &ConfigDomain{Name: name, Line: line, values: map[string]string{}}
}

// LoadConfig reads and parses the config file at path. Errors name the file
// (and the line, for syntax errors).
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tars: config: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("tars: config: %w", err)
	}
	if st.Size() > MaxConfigSize {
		return nil, fmt.Errorf("tars: config %s: %d bytes, more than %d: %w", path, st.Size(), MaxConfigSize, ErrTooLarge)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tars: config: %w", err)
	}
	c, err := ParseConfig(data)
	if ce, ok := err.(*ConfigError); ok {
		ce.File = path
	}
	return c, err
}

// ParseConfig parses a config file's contents. A syntax error is a
// *ConfigError (wrapping ErrConfigSyntax) with the 1-based line number.
func ParseConfig(data []byte) (*Config, error) {
	root := newDomain("", 0)
	stack := []*ConfigDomain{root}
	lines := strings.Split(string(data), "\n")
	for i, raw := range lines {
		ln := i + 1
		line := strings.Trim(raw, " \t\r\n\v\f")
		if line == "" || line[0] == '#' {
			continue
		}
		cur := stack[len(stack)-1]
		if line[0] == '<' {
			if line[len(line)-1] != '>' {
				return nil, &ConfigError{Line: ln, Msg: fmt.Sprintf("%q: a line starting with '<' must be a <section> or </section> tag", line)}
			}
			inner := line[1 : len(line)-1]
			closing := strings.HasPrefix(inner, "/")
			name := strings.TrimPrefix(inner, "/")
			if !validDomainName(name) {
				return nil, &ConfigError{Line: ln, Msg: fmt.Sprintf("%q: bad section name %q", line, name)}
			}
			if closing {
				if len(stack) == 1 {
					return nil, &ConfigError{Line: ln, Msg: fmt.Sprintf("</%s> closes a section that is not open", name)}
				}
				if cur.Name != name {
					return nil, &ConfigError{Line: ln, Msg: fmt.Sprintf("</%s> does not match <%s> opened at line %d", name, cur.Name, cur.Line)}
				}
				stack = stack[:len(stack)-1]
				continue
			}
			d := cur.Child(name)
			if d == nil {
				d = newDomain(name, ln)
				cur.children = append(cur.children, d)
			}
			stack = append(stack, d)
			continue
		}
		key, val := splitParam(line)
		if key == "" {
			return nil, &ConfigError{Line: ln, Msg: fmt.Sprintf("%q: parameter without a key", line)}
		}
		if !validKey(key) {
			return nil, &ConfigError{Line: ln, Msg: fmt.Sprintf("%q: not a key=value line, a <section> tag or a # comment", line)}
		}
		var err error
		if key, err = unescape(key); err != nil {
			return nil, &ConfigError{Line: ln, Msg: "key " + err.Error()}
		}
		if val, err = unescape(val); err != nil {
			return nil, &ConfigError{Line: ln, Msg: "value " + err.Error()}
		}
		cur.set(key, val)
	}
	if len(stack) > 1 {
		d := stack[len(stack)-1]
		return nil, &ConfigError{Line: d.Line, Msg: fmt.Sprintf("<%s> is never closed", d.Name)}
	}
	return &Config{Root: root}, nil
}

func validDomainName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '/' || c == '=' {
			return false
		}
	}
	return true
}

// validKey rejects keys that cannot come from a real config: control
// characters or inner whitespace (a line of prose or binary junk).
func validKey(key string) bool {
	for i := 0; i < len(key); i++ {
		if c := key[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

func (d *ConfigDomain) set(key, val string) {
	if _, ok := d.values[key]; !ok {
		d.keys = append(d.keys, key)
	}
	d.values[key] = val
}

// Child returns the direct sub-domain called name, or nil.
func (d *ConfigDomain) Child(name string) *ConfigDomain {
	for _, c := range d.children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Children returns the sub-domains in the order they first appear in the file.
func (d *ConfigDomain) Children() []*ConfigDomain { return d.children }

// Get returns the value of key in d.
func (d *ConfigDomain) Get(key string) (string, bool) {
	v, ok := d.values[key]
	return v, ok
}

// Keys returns the parameter names of d in the order they first appear.
func (d *ConfigDomain) Keys() []string { return d.keys }

// Domain returns the domain at path, e.g. "/tars/application/server"
// ("" or "/" is the root), or nil when it does not exist.
func (c *Config) Domain(path string) *ConfigDomain {
	d := c.Root
	for _, name := range strings.Split(path, "/") {
		if name == "" {
			continue
		}
		if d = d.Child(name); d == nil {
			return nil
		}
	}
	return d
}

// Get returns the value of key in the domain at path, e.g.
// Get("/tars/application/server", "node").
func (c *Config) Get(path, key string) (string, bool) {
	d := c.Domain(path)
	if d == nil {
		return "", false
	}
	return d.Get(key)
}

// Lookup resolves the TarsCpp/TarsGo form "/tars/application/server<node>".
// A path without "<key>" is looked up as a domain and reports whether it exists.
func (c *Config) Lookup(spec string) (string, bool) {
	path, key, hasKey := strings.Cut(spec, "<")
	if !hasKey {
		return "", c.Domain(spec) != nil
	}
	key, ok := strings.CutSuffix(key, ">")
	if !ok {
		return "", false
	}
	return c.Get(path, key)
}
