package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	nodeagentjson "github.com/nodeagent/node-agent/internal/manifest"
)

// ManifestName is the file name of the manifest looked for in a directory
// ENTRY.
const ManifestName = nodeagentjson.FileName

// manifest is a parsed node-agent.json.
type manifest struct {
	// path is the absolute file name; dir its directory.
	path, dir string
	// main is the "main" key: the entry, relative to dir; "" when absent.
	main string
	// version is the "version" key the packager writes: the service's
	// version; "" when absent.
	version string
	// options holds the option keys ("name" included) as a source.
	options mapSource
}

// readManifest reads and parses the manifest file at path (absolute).
func readManifest(path string) (*manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageWrap(err, "reading manifest %s", path)
	}
	return parseManifest(path, data)
}

// parseManifest parses a node-agent.json: one JSON object whose keys are
// "main", the metadata keys of the deploy packager (ignored) and the long
// option names. Values are strings, numbers or booleans and read exactly like
// command-line text; script-args and node-args may be arrays of them; env may
// be an object; null means the key is absent. Any other key, or a value of
// another shape, is a *UsageError naming the key and the file; malformed JSON
// is one naming the file's line:column.
func parseManifest(path string, data []byte) (*manifest, error) {
	m := &manifest{path: path, dir: filepath.Dir(path), options: mapSource{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, jsonError(path, data, dec, err)
	}
	if raw == nil {
		return nil, usagef("%s: want a JSON object like {\"main\": \"app/server\"}, not null", path)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line, col := lineCol(data, dec.InputOffset())
		return nil, usagef("%s:%d:%d: unexpected data after the JSON object", path, line, col)
	}
	for key, rv := range raw {
		if key == nodeagentjson.KeyVersion {
			m.version, _, _ = manifestScalar(rv)
		}
		if key != nodeagentjson.KeyName && key != nodeagentjson.KeyMain && nodeagentjson.IsMetadata(key) {
			continue // written by the packager for people and `deploy verify`
		}
		where := fileWhere(key, path)
		if key == nodeagentjson.KeyMain {
			s, ok, err := manifestScalar(rv)
			if err != nil || (ok && s == "") {
				return nil, usagef("%s: want the entry path relative to the manifest, like \"app/server\"", where)
			}
			m.main = s
			continue
		}
		opt, known := lookupOption(key)
		if !known {
			return nil, usagef("%s: unknown key (keys are \"main\" and the long option names, like \"instances\")", where)
		}
		v := value{where: where, dir: m.dir}
		var present bool
		switch {
		case opt.name == "env" && isJSONObject(rv):
			v.text, present = string(bytes.TrimSpace(rv)), true
		case (opt.name == "script-args" || opt.name == "node-args") && isJSONArray(rv):
			list, err := manifestList(rv)
			if err != nil {
				return nil, usageWrap(err, "%s", where)
			}
			v.list, present = list, true
		default:
			s, ok, err := manifestScalar(rv)
			if err != nil {
				return nil, usageWrap(err, "%s", where)
			}
			v.text, present = s, ok
		}
		if present {
			m.options[key] = v
		}
	}
	return m, nil
}

// manifestScalar returns the text of a JSON string, number or boolean as it
// would be typed on the command line; ok is false for null.
func manifestScalar(rv json.RawMessage) (text string, ok bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(rv))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return "", false, err
	}
	switch x := x.(type) {
	case nil:
		return "", false, nil
	case string:
		return x, true, nil
	case json.Number:
		return x.String(), true, nil
	case bool:
		return strconv.FormatBool(x), true, nil
	}
	return "", false, errors.New("want a string, number or boolean")
}

// manifestList reads an array of scalars.
func manifestList(rv json.RawMessage) ([]string, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(rv, &items); err != nil {
		return nil, err
	}
	list := make([]string, 0, len(items))
	for i, it := range items {
		s, ok, err := manifestScalar(it)
		if err != nil || !ok {
			return nil, fmt.Errorf("item %d: want a string, number or boolean", i)
		}
		list = append(list, s)
	}
	return list, nil
}

func isJSONObject(rv json.RawMessage) bool {
	t := bytes.TrimSpace(rv)
	return len(t) > 0 && t[0] == '{'
}

func isJSONArray(rv json.RawMessage) bool {
	t := bytes.TrimSpace(rv)
	return len(t) > 0 && t[0] == '['
}

// jsonError turns a decoding error into a *UsageError with file:line:column.
func jsonError(path string, data []byte, dec *json.Decoder, err error) error {
	offset := dec.InputOffset()
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		offset = syn.Offset - 1 // Offset counts the offending byte
	case errors.As(err, &typ):
		line, col := lineCol(data, typ.Offset-1)
		return usagef("%s:%d:%d: want a JSON object like {\"main\": \"app/server\"}, found %s", path, line, col, typ.Value)
	case errors.Is(err, io.EOF):
		return usagef("%s: empty file: want a JSON object like {\"main\": \"app/server\"}", path)
	case errors.Is(err, io.ErrUnexpectedEOF):
		offset = int64(len(data))
	}
	line, col := lineCol(data, offset)
	return usageWrap(err, "%s:%d:%d: malformed JSON", path, line, col)
}
