package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestResolveEntry(t *testing.T) {
	root := t.TempDir()
	// Layouts, one directory each.
	exe := writeExec(t, filepath.Join(root, "bin", "gateway.bin"))
	writeFile(t, filepath.Join(root, "bin", "plain"), "data", 0o644)
	writeFile(t, filepath.Join(root, "bin", "main.go"), "package main", 0o644)

	named := writeExec(t, filepath.Join(root, "named", "named"))
	writeExec(t, filepath.Join(root, "named", "server"))

	order := filepath.Join(root, "order")
	writeExec(t, filepath.Join(order, "start"))
	orderApp := writeExec(t, filepath.Join(order, "app"))
	writeExec(t, filepath.Join(order, "index"))
	writeFile(t, filepath.Join(order, "server"), "not executable", 0o644)
	if err := os.MkdirAll(filepath.Join(order, "order"), 0o755); err != nil { // a directory named like its parent is skipped
		t.Fatal(err)
	}

	man := filepath.Join(root, "man")
	manMain := writeExec(t, filepath.Join(man, "app", "man"))
	writeExec(t, filepath.Join(man, "man")) // the agent binary in a deploy tarball: the manifest wins
	writeFile(t, filepath.Join(man, ManifestName), `{"main": "app/man", "name": "A.Man"}`, 0o644)

	manNoMain := filepath.Join(root, "mannomain")
	manNoMainExe := writeExec(t, filepath.Join(manNoMain, "index"))
	writeFile(t, filepath.Join(manNoMain, ManifestName), `{"instances": 2}`, 0o644)

	gosrc := filepath.Join(root, "gosrc")
	writeFile(t, filepath.Join(gosrc, "main.go"), "package main\nfunc main() {}\n", 0o644)
	writeFile(t, filepath.Join(gosrc, "x_test.go"), "package main_test\n", 0o644)

	manGo := filepath.Join(root, "mango")
	writeFile(t, filepath.Join(manGo, ManifestName), `{"main": "cmd/srv"}`, 0o644)
	writeFile(t, filepath.Join(manGo, "cmd", "srv", "main.go"), "package main\nfunc main() {}\n", 0o644)

	tests := []struct {
		name, arg string
		want      resolution
	}{
		{"executable file", "bin/gateway.bin", resolution{entry: Entry{Path: exe, Dir: filepath.Join(root, "bin")}, defaultName: "gateway"}},
		{"absolute", exe, resolution{entry: Entry{Path: exe, Dir: filepath.Join(root, "bin")}, defaultName: "gateway"}},
		{"named executable first", "named", resolution{entry: Entry{Path: named, Dir: filepath.Join(root, "named")}, defaultName: "named"}},
		{"trailing slash", "named/", resolution{entry: Entry{Path: named, Dir: filepath.Join(root, "named")}, defaultName: "named"}},
		{"server app start index order", "order", resolution{entry: Entry{Path: orderApp, Dir: order}, defaultName: "order"}},
		{"manifest main", "man", resolution{entry: Entry{Path: manMain, Dir: filepath.Join(man, "app"), Manifest: filepath.Join(man, ManifestName)}, defaultName: "man"}},
		{"manifest without main", "mannomain", resolution{entry: Entry{Path: manNoMainExe, Dir: manNoMain, Manifest: filepath.Join(manNoMain, ManifestName)}, defaultName: "mannomain"}},
		{"go main package", "gosrc", resolution{entry: Entry{SourceDir: gosrc}, buildDir: gosrc, defaultName: "gosrc"}},
		{"manifest main go package", "mango", resolution{entry: Entry{SourceDir: filepath.Join(manGo, "cmd", "srv"), Manifest: filepath.Join(manGo, ManifestName)}, buildDir: filepath.Join(manGo, "cmd", "srv"), defaultName: "mango"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveEntry(tt.arg, root)
			if err != nil {
				t.Fatal(err)
			}
			got.manifest = nil
			if got != tt.want {
				t.Errorf("resolveEntry(%q) =\n%+v\nwant\n%+v", tt.arg, got, tt.want)
			}
		})
	}
}

func TestResolveEntryErrors(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "plain"), "data", 0o644)
	writeFile(t, filepath.Join(root, "main.go"), "package main", 0o644)
	writeFile(t, filepath.Join(root, "empty", "README"), "", 0o644)
	writeFile(t, filepath.Join(root, "noexec", "server"), "", 0o644)
	writeFile(t, filepath.Join(root, "lib", "lib.go"), "package lib\n", 0o644)
	writeFile(t, filepath.Join(root, "onlytests", "a_test.go"), "package main\n", 0o644)
	writeFile(t, filepath.Join(root, "badman", ManifestName), `{"main": "missing"}`, 0o644)
	writeFile(t, filepath.Join(root, "plainman", ManifestName), `{"main": "data"}`, 0o644)
	writeFile(t, filepath.Join(root, "plainman", "data"), "", 0o644)
	writeFile(t, filepath.Join(root, "libman", ManifestName), `{"main": "."}`, 0o644)
	writeFile(t, filepath.Join(root, "libman", "l.go"), "package lib\n", 0o644)
	writeFile(t, filepath.Join(root, "junkman", ManifestName), `{"main": `, 0o644)
	writeFile(t, filepath.Join(root, "mixed", "a.go"), "package a\n", 0o644)
	writeFile(t, filepath.Join(root, "mixed", "b.go"), "package b\n", 0o644)

	tests := []struct {
		arg  string
		want []string
	}{
		{"", []string{"no ENTRY given"}},
		{"missing", []string{"entry missing", "no such file or directory"}},
		{"plain", []string{"plain is not executable", "chmod +x"}},
		{"main.go", []string{"Go source file", "package directory"}},
		{"empty", []string{"no entry found in directory", "node-agent.json", "empty, server, app, start, index", "Go main package"}},
		{"noexec", []string{"no entry found", "found server but without an x bit"}},
		{"lib", []string{"no entry found"}},
		{"onlytests", []string{"no entry found"}},
		{"badman", []string{ManifestName, `"main"`, "missing: no such file"}},
		{"plainman", []string{`"main"`, "not executable"}},
		{"libman", []string{`"main"`, "without a Go main package"}},
		{"junkman", []string{ManifestName, "malformed JSON"}},
		{"mixed", []string{"reading the Go package"}},
		{"/dev/null", []string{"neither a file nor a directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			_, err := resolveEntry(tt.arg, root)
			wantUsageError(t, err, tt.want...)
		})
	}
}

func TestNameFromPath(t *testing.T) {
	for in, want := range map[string]string{
		"/a/gateway":     "gateway",
		"/a/gateway.bin": "gateway",
		"/a/App.Server":  "App",
		"/a/.hidden":     "",
		"/a/my svc":      "",
		"/":              "",
	} {
		if got := nameFromPath(in); got != want {
			t.Errorf("nameFromPath(%q) = %q; want %q", in, got, want)
		}
	}
}
