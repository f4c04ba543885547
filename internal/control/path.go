package control

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Extensions of the files of an agent in Dir.
const (
	sockExt = ".sock"
	lockExt = ".lock"
)

// maxSocketPath is the longest path a unix socket address holds on Linux
// (sun_path is 108 bytes with the terminating NUL).
const maxSocketPath = 107

// Dir returns the directory of the control sockets of this user:
// $XDG_RUNTIME_DIR/node-agent, /run/node-agent as root, else
// $TMPDIR/node-agent-UID.
func Dir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "node-agent")
	}
	if os.Geteuid() == 0 {
		return "/run/node-agent"
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("node-agent-%d", os.Geteuid()))
}

// Path returns the socket of the agent named name in dir. A "/" in the
// name (never in a valid service name) becomes "_".
func Path(dir, name string) string {
	return filepath.Join(dir, fileName(name)+sockExt)
}

func lockPath(dir, name string) string {
	return filepath.Join(dir, fileName(name)+lockExt)
}

func fileName(name string) string { return strings.ReplaceAll(name, "/", "_") }

// Names returns the names of the agents with a socket in dir, sorted. A
// missing dir means none.
func Names(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), sockExt); ok && e.Type()&os.ModeSocket != 0 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}
