package deploy

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVerifyValid(t *testing.T) {
	m, err := Verify(bytes.NewReader(synthPackage(t, "Svc")))
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "Svc" || len(m.Files) != 3 || m.Options["instances"] != "2" {
		t.Errorf("manifest %+v", m)
	}
}

// TestVerifyCatches tampers with a valid package in every way Verify must
// notice and checks that the error names the first mismatch.
func TestVerifyCatches(t *testing.T) {
	pkg := synthPackage(t, "Svc")
	_, base := readPackage(t, pkg)
	find := func(entries []tarEntry, name string) *tarEntry {
		for i := range entries {
			if entries[i].hdr.Name == "Svc/Svc/"+name {
				return &entries[i]
			}
		}
		t.Fatalf("no entry %s", name)
		return nil
	}
	clone := func() []tarEntry {
		out := make([]tarEntry, len(base))
		for i, e := range base {
			h := *e.hdr
			out[i] = tarEntry{&h, append([]byte(nil), e.data...)}
		}
		return out
	}
	manifestEdit := func(old, new string) func([]tarEntry) []tarEntry {
		return func(es []tarEntry) []tarEntry {
			e := find(es, ManifestName)
			e.data = []byte(strings.Replace(string(e.data), old, new, 1))
			return es
		}
	}
	tests := []struct {
		name   string
		tamper func([]tarEntry) []tarEntry
		msg    string
	}{
		{"flipped byte", func(es []tarEntry) []tarEntry { find(es, "app/Svc").data[2] ^= 1; return es }, "app/Svc: sha256 mismatch"},
		{"changed mode", func(es []tarEntry) []tarEntry { find(es, "conf/app.yaml").hdr.Mode = 0o600; return es }, "conf/app.yaml: mode mismatch: expected 0644, found 0600"},
		{"setuid", func(es []tarEntry) []tarEntry { find(es, "Svc").hdr.Mode = 0o4755; return es }, "Svc: mode mismatch"},
		{"grown file", func(es []tarEntry) []tarEntry {
			e := find(es, "conf/app.yaml")
			e.data = append(e.data, 'x')
			return es
		}, "conf/app.yaml: size mismatch: expected 16, found 17"},
		{"missing file", func(es []tarEntry) []tarEntry {
			return deleteEntry(es, "Svc/Svc/conf/app.yaml")
		}, "conf/app.yaml: presence mismatch"},
		{"extra file", func(es []tarEntry) []tarEntry {
			h := *find(es, "conf/app.yaml").hdr
			h.Name = "Svc/Svc/conf/extra.yaml"
			return append(es, tarEntry{&h, []byte("x")})
		}, "conf/extra.yaml: presence mismatch: expected no such file"},
		{"missing manifest", func(es []tarEntry) []tarEntry { return deleteEntry(es, "Svc/Svc/"+ManifestName) }, "Svc/Svc/node-agent.json is missing"},
		{"missing service", func(es []tarEntry) []tarEntry {
			es = manifestEdit(`{"path":"app/Svc"`, `{"path":"app/Gone"`)(es)
			return deleteEntry(es, "Svc/Svc/app/Svc")
		}, "app/Gone: presence mismatch"},
		{"symlink", func(es []tarEntry) []tarEntry {
			return append(es, tarEntry{&tar.Header{Name: "Svc/Svc/link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd", Mode: 0o777}, nil})
		}, `entry type '2'`},
		{"traversal", func(es []tarEntry) []tarEntry {
			return append(es, tarEntry{&tar.Header{Name: "Svc/Svc/../../evil", Typeflag: tar.TypeReg, Mode: 0o644}, []byte("x")})
		}, "not a clean relative path"},
		{"absolute", func(es []tarEntry) []tarEntry {
			return append(es, tarEntry{&tar.Header{Name: "/Svc/Svc/x", Typeflag: tar.TypeReg, Mode: 0o644}, []byte("x")})
		}, "not a clean relative path"},
		{"second tree", func(es []tarEntry) []tarEntry {
			return append(es, tarEntry{&tar.Header{Name: "Other/Other/x", Typeflag: tar.TypeReg, Mode: 0o644}, []byte("x")})
		}, "outside Svc/Svc/"},
		{"duplicate", func(es []tarEntry) []tarEntry { return append(es, es[len(es)-1]) }, "duplicate entry"},
		{"dir mode", func(es []tarEntry) []tarEntry { es[0].hdr.Mode = 0o777; return es }, "Svc/: mode mismatch"},
		{"unknown key", manifestEdit(`"instances"`, `"instancez"`), `unknown key "instancez"`},
		{"bad option value", manifestEdit(`"instances": "2"`, `"instances": "lots"`), `--instances: bad value "lots"`},
		{"wrong name", manifestEdit(`"name": "Svc"`, `"name": "Other"`), "name mismatch"},
		{"wrong main", manifestEdit(`"main": "app/Svc"`, `"main": "bin/Svc"`), "main mismatch"},
		{"manifest version", manifestEdit(`"manifest_version": 1`, `"manifest_version": 2`), "manifest_version 2"},
		{"missing key", manifestEdit(`"goos": "linux",`, ``), `missing key "goos"`},
		{"duplicate key", manifestEdit(`"goos": "linux",`, `"goos": "linux", "goos": "darwin",`), `duplicate key "goos"`},
		{"listed twice", manifestEdit(`"files": [`, `"files": [{"path":"Svc","mode":"0755","size":8,"sha256":"x"},`), "Svc listed twice"},
		{"not json", manifestEdit(`{`, `[`), "node-agent.json: invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(bytes.NewReader(writePackage(t, tt.tamper(clone()))))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %v\nwant ErrInvalid naming %q", err, tt.msg)
			}
		})
	}
}

func deleteEntry(es []tarEntry, name string) []tarEntry {
	out := es[:0]
	for _, e := range es {
		if e.hdr.Name != name {
			out = append(out, e)
		}
	}
	return out
}

// TestVerifyRawBytes: damage below the tar level.
func TestVerifyRawBytes(t *testing.T) {
	pkg := synthPackage(t, "Svc")
	tests := []struct {
		name string
		data []byte
		msg  string
	}{
		{"empty", nil, "not a gzip file"},
		{"not gzip", []byte("hello"), "not a gzip file"},
		{"truncated", pkg[:len(pkg)/2], "corrupt"},
		{"crc", append(append([]byte(nil), pkg[:len(pkg)-8]...), 0, 0, 0, 0, 0, 0, 0, 0), "corrupt gzip stream"},
		{"trailing data", append(append([]byte(nil), pkg...), "junk"...), "data after the gzip stream"},
		{"empty tar", writePackage(t, nil), "empty archive"},
	}
	for _, tt := range tests {
		_, err := Verify(bytes.NewReader(tt.data))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: got %v, want ErrInvalid with %q", tt.name, err, tt.msg)
		}
	}
}

// TestVerifyFileChecksum: VerifyFile also checks NAME.tgz.sha256 beside it.
func TestVerifyFileChecksum(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "Svc.tgz")
	pkg := synthPackage(t, "Svc")
	os.WriteFile(p, pkg, 0o644)
	if _, err := VerifyFile(p); err != nil {
		t.Fatalf("without .sha256: %v", err)
	}
	os.WriteFile(p+".sha256", []byte(sha256sum(pkg)+"  Svc.tgz\n"), 0o644)
	if _, err := VerifyFile(p); err != nil {
		t.Fatalf("with a matching .sha256: %v", err)
	}
	os.WriteFile(p+".sha256", []byte(strings.Repeat("0", 64)+"  Svc.tgz\n"), 0o644)
	if _, err := VerifyFile(p); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "Svc.tgz.sha256") {
		t.Fatalf("with a wrong .sha256: %v", err)
	}
}
