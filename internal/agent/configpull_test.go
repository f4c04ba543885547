package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/nodeagent/node-agent/container"
)

func init() {
	helpers["add-config"] = addConfigHelper
}

// addConfigHelper is a linked worker that logs its working directory and
// the outcome of AddConfig($HELPER_CONFIG), then waits to be stopped.
func addConfigHelper() int {
	w, err := container.Open()
	if err != nil {
		return 5
	}
	defer w.Close()
	cwd, _ := os.Getwd()
	path, err := w.AddConfig(os.Getenv("HELPER_CONFIG"))
	w.Logger().Info(fmt.Sprintf("cwd=%s path=%q err=%v", cwd, path, err))
	w.Ready()
	<-w.Done()
	return 0
}

// TestAddConfigWithoutConfigCenter: without a ConfigObj the agent answers
// a worker's AddConfig at once with container.ErrNoConfigCenter, and a
// bad name with container.ErrConfigName.
func TestAddConfigWithoutConfigCenter(t *testing.T) {
	cfg := testConfig(1, "add-config")
	cfg.Env["HELPER_CONFIG"] = "app.conf"
	r := run(t, cfg)
	m := r.waitLine(`cwd=(\S+) path="" err=(.*)$`)
	if m[2] != container.ErrNoConfigCenter.Error() {
		t.Fatalf("AddConfig without a config center: %s", m[2])
	}
	if m[1] != cfg.Entry.Dir {
		t.Fatalf("the worker runs in %s, want the entry's directory %s", m[1], cfg.Entry.Dir)
	}
}

// TestWorkersRunInTarsWorkDir: under a TARS config the workers run in
// <server>logpath (Config.TarsWorkDir), where tarsnode runs a tars_go
// server.
func TestWorkersRunInTarsWorkDir(t *testing.T) {
	cfg := testConfig(1, "add-config")
	cfg.Env["HELPER_CONFIG"] = "app.conf"
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg.TarsWorkDir = filepath.Join(dir, "app_log") // made by the agent
	r := run(t, cfg)
	if m := r.waitLine(`cwd=(\S+) path=`); m[1] != cfg.TarsWorkDir {
		t.Fatalf("the worker runs in %s, want %s", m[1], cfg.TarsWorkDir)
	}
}
