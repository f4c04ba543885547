package config

import (
	"reflect"
	"testing"
)

func TestParseManifest(t *testing.T) {
	const path = "/srv/svc/node-agent.json"
	m, err := parseManifest(path, []byte(`{
		"main": "app/svc",
		"name": "App.Svc",
		"version": "1.2.3", "goos": "linux", "goarch": "amd64", "go_version": "go1.26",
		"agent_version": "v1", "build_time": "2026-01-01T00:00:00Z", "manifest_version": 1,
		"files": {"app/svc": "sha256:00"},
		"instances": "max",
		"keepalive-time": "off",
		"max-memory-restart": "10M",
		"exception-max": 0,
		"tars-monitor": false,
		"watch": true,
		"script-args": ["-v", 2, true],
		"node-args": "--a --b",
		"env": {"A": 1},
		"http-address": null
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.main != "app/svc" || m.dir != "/srv/svc" || m.path != path || m.version != "1.2.3" {
		t.Errorf("main %q dir %q path %q version %q", m.main, m.dir, m.path, m.version)
	}
	texts := map[string]string{}
	for k, v := range m.options {
		texts[k] = v.text
		if v.dir != "/srv/svc" || v.where != path+`: "`+k+`"` {
			t.Errorf("%s: dir %q where %q", k, v.dir, v.where)
		}
	}
	want := map[string]string{
		"name": "App.Svc", "instances": "max", "keepalive-time": "off", "max-memory-restart": "10M",
		"exception-max": "0", "tars-monitor": "false", "watch": "true", "script-args": "",
		"node-args": "--a --b", "env": `{"A": 1}`,
	}
	if !reflect.DeepEqual(texts, want) {
		t.Errorf("options = %v\nwant %v", texts, want)
	}
	if got := m.options["script-args"].args(); !reflect.DeepEqual(got, []string{"-v", "2", "true"}) {
		t.Errorf("script-args list = %q", got)
	}
	if got := m.options["node-args"].args(); !reflect.DeepEqual(got, []string{"--a", "--b"}) {
		t.Errorf("node-args = %q", got)
	}
}

func TestParseManifestErrors(t *testing.T) {
	const path = "/srv/svc/node-agent.json"
	tests := []struct {
		name, data string
		want       []string
	}{
		{"unknown key", `{"instance": 4}`, []string{path, `"instance"`, "unknown key"}},
		{"camelCase key", `{"keepaliveTime": 4}`, []string{`"keepaliveTime"`, "unknown key"}},
		{"syntax", "{\n  \"main\": \"x\",\n  oops\n}", []string{path + ":3:3", "malformed JSON"}},
		{"trailing comma", "{\"main\": \"x\",}", []string{path + ":1:14", "malformed JSON"}},
		{"truncated", "{\"main\": \"x\"", []string{path, "malformed JSON"}},
		{"empty", "", []string{path, "empty file"}},
		{"array", "[1, 2]", []string{path + ":1:1", "JSON object"}},
		{"null", "null", []string{path, "not null"}},
		{"trailing data", `{"main":"x"} {}`, []string{path + ":1:", "unexpected data"}},
		{"main number-less", `{"main": ""}`, []string{`"main"`}},
		{"main object", `{"main": {}}`, []string{`"main"`}},
		{"object value", `{"instances": {"n": 4}}`, []string{`"instances"`, "string, number or boolean"}},
		{"array value", `{"instances": [4]}`, []string{`"instances"`, "string, number or boolean"}},
		{"array item", `{"script-args": ["a", {}]}`, []string{`"script-args"`, "item 1"}},
		{"null item", `{"script-args": [null]}`, []string{`"script-args"`, "item 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseManifest(path, []byte(tt.data))
			wantUsageError(t, err, tt.want...)
		})
	}
}
