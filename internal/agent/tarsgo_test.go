package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRefuseTarsGoWorker: a binary built with TarsGo (here a stand-in
// module of that path, replaced locally) is refused under a TARS config,
// with the reason and the way out; without a TARS config, and for other
// binaries, nothing is refused.
func TestRefuseTarsGoWorker(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":           "module example.com/tgsvc\n\ngo 1.22\n\nrequire github.com/TarsCloud/TarsGo v1.4.5\n\nreplace github.com/TarsCloud/TarsGo => ./tarsgo\n",
		"main.go":          "package main\n\nimport \"github.com/TarsCloud/TarsGo/tars\"\n\nfunc main() { tars.Run() }\n",
		"tarsgo/go.mod":    "module github.com/TarsCloud/TarsGo\n\ngo 1.22\n",
		"tarsgo/tars/r.go": "package tars\n\n// Run stands in for TarsGo's server main loop.\nfunc Run() {}\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "svc")
	cmd := exec.Command(gobin, "build", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	err = refuseTarsGoWorker(bin, "/srv/App.Svc.config.conf")
	if err == nil || !strings.Contains(err.Error(), "is a TarsGo server (it links github.com/TarsCloud/TarsGo)") ||
		!strings.Contains(err.Error(), "deploy it as a tars_go server without node-agent") {
		t.Fatalf("TarsGo entry under a TARS config: %v", err)
	}
	if err := refuseTarsGoWorker(bin, ""); err != nil {
		t.Fatalf("without a TARS config: %v", err)
	}
	self, _ := os.Executable()
	if err := refuseTarsGoWorker(self, "/srv/App.Svc.config.conf"); err != nil {
		t.Fatalf("a binary without TarsGo: %v", err)
	}
}
