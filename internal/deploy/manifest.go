package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/nodeagent/node-agent/internal/manifest"
)

// Manifest is the content of NAME/NAME/node-agent.json. The agent reads the
// same file as its option source: "main" and "name" and the agent options
// configure it, the metadata keys are ignored by it. No other key is allowed.
type Manifest struct {
	ManifestVersion int    // "manifest_version": ManifestVersion
	Name            string // "name": NAME
	Main            string // "main": "app/NAME", relative to the manifest's directory
	Version         string // "version": the service version
	GOOS            string // "goos"
	GOARCH          string // "goarch"
	GoVersion       string // "go_version": the toolchain that built the service
	AgentVersion    string // "agent_version"
	BuildTime       string // "build_time": RFC 3339 UTC, the reproducible epoch
	// Options are agent options (long names of SPEC §2) at top level, values
	// as JSON strings when written; numbers and booleans are accepted when
	// read and kept as their JSON text.
	Options map[string]string
	// Files lists every file of the package except the manifest, sorted by
	// path ("files").
	Files []File
}

// File describes one packaged file in the manifest's "files" array.
type File struct {
	// Path is slash-separated and relative to the manifest's directory
	// (NAME/NAME/): "NAME", "app/NAME", "conf/app.yaml".
	Path string `json:"path"`
	// Mode is the permission bits in octal: "0755" or "0644".
	Mode string `json:"mode"`
	// Size is the length in bytes.
	Size int64 `json:"size"`
	// SHA256 is the lowercase hex digest of the content.
	SHA256 string `json:"sha256"`
}

// MarshalJSON writes the keys in a fixed order (metadata, then options sorted
// by name, then files), two-space indented, so equal manifests are equal
// bytes.
func (m *Manifest) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("{\n")
	field := func(key string, v any) error {
		val, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("manifest key %s: %w", key, err)
		}
		fmt.Fprintf(&b, "  %q: %s,\n", key, val)
		return nil
	}
	scalars := []struct {
		key string
		v   any
	}{
		{"manifest_version", m.ManifestVersion}, {"name", m.Name}, {"main", m.Main},
		{"version", m.Version}, {"goos", m.GOOS}, {"goarch", m.GOARCH},
		{"go_version", m.GoVersion}, {"agent_version", m.AgentVersion},
		{"build_time", m.BuildTime},
	}
	for _, s := range scalars {
		if err := field(s.key, s.v); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(m.Options))
	for k := range m.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := field(k, m.Options[k]); err != nil {
			return nil, err
		}
	}
	b.WriteString("  \"files\": [")
	for i, f := range m.Files {
		val, err := json.Marshal(f)
		if err != nil {
			return nil, fmt.Errorf("manifest file %s: %w", f.Path, err)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n    ")
		b.Write(val)
	}
	if len(m.Files) > 0 {
		b.WriteString("\n  ")
	}
	b.WriteString("]\n}\n")
	return b.Bytes(), nil
}

// UnmarshalJSON reads a manifest strictly: every metadata key present with
// the right type, every other key an agent option with a string, number or
// boolean value, no duplicate keys.
func (m *Manifest) UnmarshalJSON(data []byte) error {
	raw, err := decodeObject(data)
	if err != nil {
		return err
	}
	*m = Manifest{}
	str := map[string]*string{
		"name": &m.Name, "main": &m.Main, "version": &m.Version, "goos": &m.GOOS,
		"goarch": &m.GOARCH, "go_version": &m.GoVersion,
		"agent_version": &m.AgentVersion, "build_time": &m.BuildTime,
	}
	for _, k := range manifest.MetadataKeys {
		v, ok := raw[k]
		if !ok {
			return fmt.Errorf("manifest: missing key %q", k)
		}
		delete(raw, k)
		var err error
		switch k {
		case "manifest_version":
			err = json.Unmarshal(v, &m.ManifestVersion)
		case "files":
			dec := json.NewDecoder(bytes.NewReader(v))
			dec.DisallowUnknownFields()
			err = dec.Decode(&m.Files)
		default:
			err = json.Unmarshal(v, str[k])
		}
		if err != nil {
			return fmt.Errorf("manifest key %q: %w", k, err)
		}
	}
	for k, v := range raw {
		if !IsAgentOption(k) {
			return fmt.Errorf("manifest: unknown key %q", k)
		}
		val, err := optionValue(v)
		if err != nil {
			return fmt.Errorf("manifest option %q: %w", k, err)
		}
		if m.Options == nil {
			m.Options = map[string]string{}
		}
		m.Options[k] = val
	}
	return nil
}

// decodeObject splits a JSON object into its members, refusing duplicates.
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("manifest: not a JSON object")
	}
	raw := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("manifest: %w", err)
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("manifest key %q: %w", key, err)
		}
		if _, dup := raw[key]; dup {
			return nil, fmt.Errorf("manifest: duplicate key %q", key)
		}
		raw[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if dec.More() || dec.InputOffset() != int64(len(bytes.TrimRight(data, " \t\r\n"))) {
		return nil, fmt.Errorf("manifest: trailing data after the object")
	}
	return raw, nil
}

// optionValue returns a string option as is and a number or boolean as its
// JSON text.
func optionValue(v json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return s, nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err == nil {
		return strconv.FormatBool(b), nil
	}
	var n json.Number
	if err := json.Unmarshal(v, &n); err == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf("value must be a string, number or boolean, not %s", strings.TrimSpace(string(v)))
}

// formatMode renders permission bits as the manifest writes them.
func formatMode(m fs.FileMode) string { return fmt.Sprintf("%04o", uint32(m.Perm())) }

// sortFiles orders manifest files by path.
func sortFiles(files []File) {
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
}
