package container_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nodeagent/node-agent/container"
	"github.com/nodeagent/node-agent/container/containertest"
)

// TestAddConfig: the agent's answers to AddConfig, as the worker sees
// them: the path of the file pulled, the config center's failure, no
// config center (ErrNoConfigCenter), a name with a directory
// (ErrConfigName, refused before asking).
func TestAddConfig(t *testing.T) {
	a := containertest.New(t, containertest.Options{Configs: map[string]string{"gateway.conf": "[rate_limit]\nper_phone = 5\n"}})
	w := a.Worker()
	path, err := w.AddConfig("gateway.conf")
	if err != nil || !filepath.IsAbs(path) || filepath.Base(path) != "gateway.conf" {
		t.Fatalf("AddConfig: %q, %v", path, err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "[rate_limit]\nper_phone = 5\n" {
		t.Fatalf("the pulled file: %q, %v", b, err)
	}
	_, err = w.AddConfig("nosuch.conf")
	if err == nil || errors.Is(err, container.ErrNoConfigCenter) || !strings.Contains(err.Error(), "nosuch.conf not pulled: loadConfigByInfo(nosuch.conf)") {
		t.Fatalf("a file the config center lacks: %v", err)
	}
	for _, bad := range []string{"", ".", "..", "conf/gateway.conf", "/etc/passwd", `a\b`} {
		if _, err := w.AddConfig(bad); !errors.Is(err, container.ErrConfigName) {
			t.Errorf("AddConfig(%q): %v, want ErrConfigName", bad, err)
		}
	}

	none := containertest.New(t).Worker() // an agent without a config center
	if _, err := none.AddConfig("gateway.conf"); !errors.Is(err, container.ErrNoConfigCenter) {
		t.Fatalf("without a config center: %v", err)
	}
}

// TestAddConfigStandalone: without an agent there is no config center;
// the service reads its local file.
func TestAddConfigStandalone(t *testing.T) {
	w, err := container.OpenWith(container.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.AddConfig("gateway.conf"); !errors.Is(err, container.ErrNoConfigCenter) {
		t.Fatalf("standalone: %v", err)
	}
}
