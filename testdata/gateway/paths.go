package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/nodeagent/node-agent/container"
	"github.com/nodeagent/node-agent/testdata/gateway/sms"
)

// Environment of a gateway run by the agent under a TARS config: the
// config's <server>basepath and <server>datapath. There the workers run
// in the log directory (<server>logpath), where tarsnode starts a tars_go
// server, so no relative path may be left to the working directory.
const (
	EnvTarsBasePath = "TARS_BASEPATH"
	EnvTarsDataPath = "TARS_DATAPATH"
)

// tarsPaths are the directories relative paths resolve under on the TARS
// platform: files shipped with the package or pushed from the console
// (the applications file, the provider config) under base, the data (the
// data directory, a SQLite file) under data. An empty one leaves relative
// paths to the working directory, as off the platform.
type tarsPaths struct{ base, data string }

func tarsPathsFrom(getenv func(string) string) tarsPaths {
	return tarsPaths{base: getenv(EnvTarsBasePath), data: getenv(EnvTarsDataPath)}
}

// inBase returns path, a relative one under the base path.
func (p tarsPaths) inBase(path string) string { return under(p.base, path) }

// inData returns path, a relative one under the data path.
func (p tarsPaths) inData(path string) string { return under(p.data, path) }

func under(dir, path string) string {
	if dir == "" || path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}

// storeAndData resolves cfg's data directory and SQLite file under the
// data path; with one, the data directory defaults to it (instead of
// sms.DefaultDataDir, a temporary directory). Other stores are left alone.
func (p tarsPaths) storeAndData(cfg *sms.Config) {
	if cfg.DataDir == "" {
		cfg.DataDir = p.data
	}
	cfg.DataDir = p.inData(cfg.DataDir)
	if file, ok := strings.CutPrefix(cfg.Store, "sqlite:"); ok {
		cfg.Store = "sqlite:" + p.inData(file)
	}
}

// pullConfig returns the provider config file to read for -config name, a
// plain file name: it is pulled from the TARS config center
// (container.Worker.AddConfig, TarsGo's RConf), which writes it into the
// base path. Without a config center (off the platform, or no
// <server>config) it is the local file, under the base path. When the
// pull fails, a copy pulled earlier is used, with a warning, so a config
// center that is down does not keep a restarting worker from starting;
// without a copy the pull's error is returned.
func (p tarsPaths) pullConfig(w *container.Worker, name string, log *slog.Logger) (string, error) {
	local := p.inBase(name)
	path, err := w.AddConfig(name)
	switch {
	case err == nil:
		log.Info("gateway: config " + name + " pulled from the config center to " + path)
		return path, nil
	case errors.Is(err, container.ErrNoConfigCenter):
		return local, nil
	}
	if _, serr := os.Stat(local); serr == nil {
		log.Warn(fmt.Sprintf("gateway: %v: reading the copy pulled before, %s", err, local))
		return local, nil
	}
	return "", err
}
