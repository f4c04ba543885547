package agent

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyExecutable copies the test binary to dir/name, atomically.
func copyExecutable(t *testing.T, dir, name string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(dir, ".tmp-"+name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(tmp, in); err != nil {
		t.Fatal(err)
	}
	tmp.Chmod(0o755)
	tmp.Close()
	dst := filepath.Join(dir, name)
	if err := os.Rename(tmp.Name(), dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestWatchReloadsOnNewBinary: --watch sees the entry replaced by an atomic
// rename and reloads the workers exactly once; a config file change is
// sent to the workers as tars.loadconfig.
func TestWatchReloadsOnNewBinary(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(2, "serve")
	cfg.HTTPAddress = freeAddr(t)
	cfg.Entry.Path = copyExecutable(t, dir, "worker")
	cfg.Entry.Dir = dir
	cfg.Watch = true
	cfg.TarsConfig = filepath.Join(dir, "App.Server.config.conf")
	os.WriteFile(cfg.TarsConfig, []byte("<tars>\n</tars>\n"), 0o644)
	r := run(t, cfg)
	r.waitLine(`watching the entry .*/worker and .*App.Server.config.conf`)
	for i := 0; i < 2; i++ {
		r.waitLine(`worker \d \(pid \d+\) ready`)
	}
	copyExecutable(t, dir, "worker")
	r.waitLine(`the entry .*/worker changed, reloading the workers`)
	r.waitLine(`ok: reloaded 2 workers`)

	// A later config change, the sentinel: no second reload came before it.
	os.WriteFile(cfg.TarsConfig, []byte("<tars>\n  <application>\n  </application>\n</tars>\n"), 0o644)
	r.waitLine(`tars.loadconfig: worker 0 \(pid \d+\): no handler for "tars.loadconfig"`)
	n := 0
	for _, l := range r.seen {
		if strings.Contains(l, "reloading 2 workers one by one") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d reloads for one new binary", n)
	}
}
