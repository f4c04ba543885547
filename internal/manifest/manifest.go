// Package manifest owns the vocabulary of node-agent.json, the manifest a
// packaged service carries (SPEC §14) and the agent reads as an option
// source (SPEC §3): its file name, its metadata keys and the agent option
// names it may set. Package deploy writes the file, package agent/config
// reads it; both take the keys from here, and a test of agent/config checks
// that OptionNames is exactly its option table, so an option the agent
// gains is one deploy accepts. It imports nothing of this module.
package manifest

// FileName is the manifest's file name, beside the service binary in a
// package (NAME/NAME/node-agent.json) or in a directory ENTRY.
const FileName = "node-agent.json"

// Metadata keys: written by the packager for people and for `deploy
// verify`; the agent ignores them. "main" and "name" are also read by the
// agent: the entry (relative to the manifest) and the service name.
const (
	KeyManifestVersion = "manifest_version"
	KeyName            = "name"
	KeyMain            = "main"
	KeyVersion         = "version"
	KeyGOOS            = "goos"
	KeyGOARCH          = "goarch"
	KeyGoVersion       = "go_version"
	KeyAgentVersion    = "agent_version"
	KeyBuildTime       = "build_time"
	KeyFiles           = "files"
)

// MetadataKeys are the keys that are not agent options, in the order the
// packager writes them ("files" last, after the options).
var MetadataKeys = []string{
	KeyManifestVersion, KeyName, KeyMain, KeyVersion, KeyGOOS, KeyGOARCH,
	KeyGoVersion, KeyAgentVersion, KeyBuildTime, KeyFiles,
}

// OptionNames are the agent's long option names (SPEC §2) a manifest may
// set at top level, in the agent's help order. "name" is not among them:
// it is the metadata key KeyName.
var OptionNames = []string{
	"config", "log", "instances", "env", "http-address", "script-args",
	"node-args", "run-as-user", "run-as-group", "max-memory-restart",
	"graceful-shutdown", "exception-max", "exception-time", "keepalive-time",
	"applog-max-files", "applog-max-size", "applog-level", "tars-node",
	"tars-local", "tars-monitor", "tars-monitor-http-threshold",
	"tars-monitor-http-seppath", "metrics-address", "ready-timeout",
	"steering", "subreaper", "watch",
}

// IsMetadata reports whether key is a metadata key.
func IsMetadata(key string) bool { return contains(MetadataKeys, key) }

// IsOption reports whether key is an agent option a manifest may set.
func IsOption(key string) bool { return contains(OptionNames, key) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
