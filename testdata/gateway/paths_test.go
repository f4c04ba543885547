package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nodeagent/node-agent/container/containertest"
	"github.com/nodeagent/node-agent/testdata/gateway/sms"
)

// TestTarsPaths: on the TARS platform relative data paths resolve under
// $TARS_DATAPATH (the data directory defaults to it), files under
// $TARS_BASEPATH; absolute paths and other stores stay; off the platform
// nothing changes.
func TestTarsPaths(t *testing.T) {
	env := map[string]string{EnvTarsBasePath: "/srv/bin/", EnvTarsDataPath: "/srv/data/"}
	p := tarsPathsFrom(func(k string) string { return env[k] })
	for _, c := range []struct{ dir, store, wantDir, wantStore string }{
		{"", "", "/srv/data/", ""},
		{"db", "sqlite:sms.db", "/srv/data/db", "sqlite:/srv/data/sms.db"},
		{"/var/sms", "sqlite:/var/sms/x.db", "/var/sms", "sqlite:/var/sms/x.db"},
		{"", "redis://127.0.0.1:6379/0", "/srv/data/", "redis://127.0.0.1:6379/0"},
	} {
		cfg := sms.Config{DataDir: c.dir, Store: c.store}
		p.storeAndData(&cfg)
		if cfg.DataDir != c.wantDir || cfg.Store != c.wantStore {
			t.Errorf("%q %q: %q %q, want %q %q", c.dir, c.store, cfg.DataDir, cfg.Store, c.wantDir, c.wantStore)
		}
	}
	if got := p.inBase("conf/apps.json"); got != "/srv/bin/conf/apps.json" {
		t.Errorf("inBase: %q", got)
	}
	off := tarsPathsFrom(func(string) string { return "" })
	cfg := sms.Config{Store: "sqlite:sms.db"}
	off.storeAndData(&cfg)
	if cfg.DataDir != "" || cfg.Store != "sqlite:sms.db" || off.inBase("apps.json") != "apps.json" {
		t.Errorf("off the platform: %+v, %q", cfg, off.inBase("apps.json"))
	}
}

// TestPullConfig: -config NAME is pulled through the agent; without a
// config center it is the base path's file; a failed pull falls back to
// the copy pulled before, or fails without one.
func TestPullConfig(t *testing.T) {
	base := t.TempDir()
	p := tarsPaths{base: base}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	w := containertest.New(t, containertest.Options{Configs: map[string]string{"gateway.conf": "x"}}).Worker()
	if path, err := p.pullConfig(w, "gateway.conf", log); err != nil || filepath.Base(path) != "gateway.conf" || path == filepath.Join(base, "gateway.conf") {
		t.Fatalf("pulled: %q, %v", path, err)
	}
	if _, err := p.pullConfig(w, "other.conf", log); err == nil || !strings.Contains(err.Error(), "other.conf not pulled") {
		t.Fatalf("a failed pull without a copy: %v", err)
	}
	if err := os.WriteFile(filepath.Join(base, "other.conf"), []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	if path, err := p.pullConfig(w, "other.conf", log); err != nil || path != filepath.Join(base, "other.conf") {
		t.Fatalf("a failed pull with a copy: %q, %v", path, err)
	}

	none := containertest.New(t).Worker()
	if path, err := p.pullConfig(none, "gateway.conf", log); err != nil || path != filepath.Join(base, "gateway.conf") {
		t.Fatalf("no config center: %q, %v", path, err)
	}
}
