package agent

import (
	"debug/buildinfo"
	"fmt"
	"strings"
)

// tarsGoModule is TarsGo's module: a binary that depends on it is a TarsGo
// server (or a client of one).
const tarsGoModule = "github.com/TarsCloud/TarsGo"

// linksTarsGo reports whether the executable at path is a Go binary built
// with TarsGo.
func linksTarsGo(path string) bool {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return false
	}
	for _, d := range append(info.Deps, &info.Main) {
		if d.Path == tarsGoModule || strings.HasPrefix(d.Path, tarsGoModule+"/") {
			return true
		}
	}
	return false
}

// refuseTarsGoWorker refuses, as a usage error, to run a TarsGo server as
// the worker under a TARS config: TarsGo reads the same config and does
// what the agent does there — it registers with tarsnode (keepAlive,
// reportVersion), serves AdminF on <server>local and binds its adapters,
// the not_tars port included, in every worker — so the two would fight
// over the node's view of the service and over the ports. A TarsGo
// service is deployed as a tars_go server directly under tarsnode; to run
// it under node-agent, serve it with package container instead of
// tars.Run.
func refuseTarsGoWorker(entry, tarsConfig string) error {
	if tarsConfig == "" || !linksTarsGo(entry) {
		return nil
	}
	return fmt.Errorf("the entry %s is a TarsGo server (it links %s): under the TARS config %s it would register with tarsnode, "+
		"serve AdminF and bind the adapters itself, as the agent does; deploy it as a tars_go server without node-agent, "+
		"or serve it with package container", entry, tarsGoModule, tarsConfig)
}
