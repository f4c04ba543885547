package deploy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// includeTree makes a module with a service directory svc/ and returns both.
//
//	mod/go.mod  mod/shared.txt  mod/svc/{main.go, conf/{a.yaml, run.sh, .DS_Store, x.swp},
//	.git/config, .idea/ws.xml, old.tgz, old.tgz.sha256, web/{index.html, .gitignore}}
func includeTree(t *testing.T) (mod, svc string) {
	t.Helper()
	mod = t.TempDir()
	svc = filepath.Join(mod, "svc")
	files := map[string]string{
		"go.mod": "module x\n", "shared.txt": "shared\n", "svc/main.go": "package main\n",
		"svc/conf/a.yaml": "a: 1\n", "svc/conf/run.sh": "#!/bin/sh\n", "svc/conf/.DS_Store": "junk",
		"svc/conf/x.swp": "junk", "svc/.git/config": "junk", "svc/.idea/ws.xml": "junk",
		"svc/old.tgz": "junk", "svc/old.tgz.sha256": "junk", "svc/web/index.html": "<p>\n",
		"svc/web/.gitignore": "junk",
	}
	for p, data := range files {
		full := filepath.Join(mod, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o600)
		if strings.HasSuffix(p, ".sh") {
			mode = 0o700
		}
		if err := os.WriteFile(full, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	return mod, svc
}

func includePaths(entries []entry) string {
	var s []string
	for _, e := range entries {
		s = append(s, e.path+":"+formatMode(e.mode))
	}
	return strings.Join(s, " ")
}

func TestIncludeSelection(t *testing.T) {
	mod, svc := includeTree(t)
	// A symlink staying inside the module is followed and packaged as a file.
	if err := os.Symlink(filepath.Join(mod, "shared.txt"), filepath.Join(svc, "shared.txt")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		patterns []string
		want     string
	}{
		{[]string{"conf"}, "conf/a.yaml:0644 conf/run.sh:0755"},
		{[]string{"conf/*.yaml", "web"}, "conf/a.yaml:0644 web/index.html:0644"},
		{[]string{"*"}, "conf/a.yaml:0644 conf/run.sh:0755 main.go:0644 shared.txt:0644 web/index.html:0644"},
		{[]string{"shared.txt"}, "shared.txt:0644"},
		{[]string{"./conf/../conf/a.yaml"}, ""}, // ".." refused even when it comes back
	}
	for _, tt := range tests {
		got, err := collectIncludes(svc, mod, "Svc", tt.patterns)
		if tt.want == "" {
			if !errors.Is(err, ErrInclude) {
				t.Errorf("%q: want ErrInclude, got %v", tt.patterns, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.patterns, err)
			continue
		}
		if s := includePaths(got); s != tt.want {
			t.Errorf("%q:\n got %s\nwant %s", tt.patterns, s, tt.want)
		}
	}
}

func TestIncludeRefused(t *testing.T) {
	mod, svc := includeTree(t)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o600)
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(svc, "conf", "leak"))
	os.Mkdir(filepath.Join(svc, "linked"), 0o755)
	os.Symlink(outside, filepath.Join(svc, "linked", "dir"))
	os.Symlink("../../"+filepath.Base(outside), filepath.Join(svc, "rel"))
	os.MkdirAll(filepath.Join(svc, "loop", "inner"), 0o755)
	os.Symlink("..", filepath.Join(svc, "loop", "inner", "up"))
	syscall.Mkfifo(filepath.Join(svc, "fifo"), 0o644)
	os.Mkdir(filepath.Join(svc, "app"), 0o755)
	os.WriteFile(filepath.Join(svc, "app", "x"), nil, 0o644)
	os.WriteFile(filepath.Join(svc, "Svc"), nil, 0o644)
	os.WriteFile(filepath.Join(svc, ManifestName), nil, 0o644)

	tests := []struct{ pattern, msg string }{
		{"../shared.txt", `".." element`},
		{"conf/../../shared.txt", `".." element`},
		{"/etc/passwd", "is absolute"},
		{filepath.Join(svc, "conf"), "is absolute"},
		{"conf", "conf/leak resolves to"},          // a symlink out, found by walking
		{"conf/leak", "outside the module"},        // named directly
		{"linked", "linked/dir resolves to"},       // a directory symlink out
		{"rel", "outside the module"},              // a relative symlink out
		{"loop", "symlink loop"},                   // a symlink back up
		{"fifo", "not a regular file"},             // devices, pipes, sockets
		{"app", "collides with the package's own"}, // app/NAME is the service
		{"Svc", "collides with the package's own"}, // NAME is the agent
		{ManifestName, "collides with the package's own"},
		{".git", "matches no file"}, // junk is never packaged
		{"*.tgz", "matches no file"},
		{"[", "syntax error in pattern"},
		{"", "empty pattern"},
		{".", "the service directory itself"},
	}
	for _, tt := range tests {
		_, err := collectIncludes(svc, mod, "Svc", []string{tt.pattern})
		if !errors.Is(err, ErrInclude) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%q: got %v, want ErrInclude with %q", tt.pattern, err, tt.msg)
		}
	}
}
