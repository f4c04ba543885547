package agent

import (
	"debug/buildinfo"
	"strings"
)

// containerModule is the module of the worker library.
const containerModule = "github.com/nodeagent/node-agent"

// linksContainer reports whether the executable at path is a Go program
// built with the worker library's module, so its workers will announce
// themselves and are ready only when they say so. Anything else is a plain
// binary: ready when started, no heartbeats (SPEC §5).
func linksContainer(path string) bool {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return false
	}
	if strings.HasPrefix(info.Main.Path, containerModule) {
		return true
	}
	for _, d := range info.Deps {
		if d.Path == containerModule {
			return true
		}
	}
	return false
}
