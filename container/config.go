package container

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/nodeagent/node-agent/container/wire"
)

// ConfigTimeout bounds the wait for the agent's answer to an AddConfig:
// the agent's call to the config center gives up well before.
const ConfigTimeout = 10 * time.Second

// Errors of AddConfig to branch on.
var (
	// ErrNoConfigCenter: there is no TARS config center to pull from: the
	// worker runs standalone, or its agent has no TARS config, or one
	// without <server>config. The service then reads its local file.
	ErrNoConfigCenter = errors.New("container: no TARS config center (standalone, or no <server>config in the agent's TARS config)")
	// ErrConfigName: the name is not a plain file name.
	ErrConfigName = errors.New("container: a config file name is a plain name, without a directory")
)

// AddConfig pulls the config file name from the TARS config center, as a
// TarsGo service does with its RConf (tars.loadconfig, AddConfig): the
// agent fetches it through the locator with ConfigF.loadConfigByInfo (app,
// server, file name and set division of its TARS config), writes it
// atomically into the base path (<server>basepath, $TARS_BASEPATH) and
// answers its absolute path, which AddConfig returns. Call it at start for
// each file the service reads, then read the file at that path; a new
// version pushed from the console later arrives through OnConfig.
//
// Errors: ErrConfigName for a name with a directory; ErrNoConfigCenter
// when there is none to pull from — standalone, or the agent runs without
// a TARS config naming a ConfigObj: the service then reads its local
// file, so one program runs on the platform and off it; otherwise the
// config center's or the file system's failure (unreachable, no such
// file, not writable), after which a copy pulled earlier may still be in
// the base path. Each call fetches the file anew; it waits at most
// ConfigTimeout.
func (w *Worker) AddConfig(name string) (string, error) {
	if !plainName(name) {
		return "", fmt.Errorf("%w: %q", ErrConfigName, name)
	}
	if w.conn == nil {
		return "", ErrNoConfigCenter
	}
	id := w.requestID.Add(1)
	m, err := w.request(wire.KindAddConfig, id, wire.AddConfig{ID: id, Name: name}, ConfigTimeout)
	if err != nil {
		return "", fmt.Errorf("container: config file %s: %w", name, err)
	}
	closeFiles(m)
	var r wire.AddConfigResult
	if err := m.Decode(&r); err != nil {
		return "", fmt.Errorf("container: config file %s: %w", name, err)
	}
	switch {
	case r.Code == wire.ConfigNoCenter:
		return "", ErrNoConfigCenter
	case r.Code == wire.ConfigBadName:
		return "", fmt.Errorf("%w: %q: %s", ErrConfigName, name, r.Error)
	case r.Error != "":
		return "", fmt.Errorf("container: config file %s not pulled: %s", name, r.Error)
	case !filepath.IsAbs(r.Path):
		return "", fmt.Errorf("container: config file %s: the agent answered the path %q", name, r.Path)
	}
	return r.Path, nil
}

// plainName reports whether name is a file name without a directory, the
// only names the agent pulls (the same rule as the agent's).
func plainName(name string) bool {
	return name != "" && name != "." && name != ".." && name == filepath.Base(name) && !strings.ContainsRune(name, '\\')
}
