package deploy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestManifestRoundTrip(t *testing.T) {
	m := &Manifest{
		ManifestVersion: 1, Name: "Svc", Main: "app/Svc", Version: "v1", GOOS: "linux", GOARCH: "arm64",
		GoVersion: "go1.26.0", AgentVersion: "v0.1.0", BuildTime: "2024-01-01T00:00:00Z",
		Options: map[string]string{"watch": "on", "instances": "4"},
		Files:   []File{{Path: "Svc", Mode: "0755", Size: 3, SHA256: "abc"}},
	}
	b, err := m.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "manifest_version": 1,
  "name": "Svc",
  "main": "app/Svc",
  "version": "v1",
  "goos": "linux",
  "goarch": "arm64",
  "go_version": "go1.26.0",
  "agent_version": "v0.1.0",
  "build_time": "2024-01-01T00:00:00Z",
  "instances": "4",
  "watch": "on",
  "files": [
    {"path":"Svc","mode":"0755","size":3,"sha256":"abc"}
  ]
}
`
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
	var back Manifest
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, m) {
		t.Errorf("round trip: %+v", back)
	}
}

// TestManifestOptionValues: numbers and booleans written by hand are read
// as their JSON text; objects and arrays are refused.
func TestManifestOptionValues(t *testing.T) {
	base := `{"manifest_version":1,"name":"S","main":"app/S","version":"","goos":"","goarch":"",` +
		`"go_version":"","agent_version":"","build_time":"","files":[]`
	var m Manifest
	if err := json.Unmarshal([]byte(base+`,"instances":4,"watch":true}`), &m); err != nil {
		t.Fatal(err)
	}
	if m.Options["instances"] != "4" || m.Options["watch"] != "true" {
		t.Errorf("options %v", m.Options)
	}
	for _, bad := range []string{`,"env":{"A":"1"}}`, `,"files2":[]}`, `}{}`} {
		if err := json.Unmarshal([]byte(base+bad), &m); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	err := json.Unmarshal([]byte(base+`,"files":[{"path":"x","mode":"0644","size":1,"sha256":"","extra":1}]}`), &m)
	if err == nil || !strings.Contains(err.Error(), "duplicate key") {
		t.Errorf("duplicate files: %v", err)
	}
}
