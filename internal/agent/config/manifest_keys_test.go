package config

import (
	"slices"
	"testing"

	nodeagentjson "github.com/nodeagent/node-agent/internal/manifest"
)

// TestManifestOptionNamesAreTheOptionTable: the option names deploy
// accepts in a manifest are exactly the agent's options but "name" (the
// manifest's metadata key), in the same order, and no option is a
// metadata key.
func TestManifestOptionNamesAreTheOptionTable(t *testing.T) {
	var table []string
	for _, o := range options {
		if o.name != nodeagentjson.KeyName {
			table = append(table, o.name)
		}
		if o.name != nodeagentjson.KeyName && nodeagentjson.IsMetadata(o.name) {
			t.Errorf("option %q is also a manifest metadata key", o.name)
		}
	}
	if !slices.Equal(table, nodeagentjson.OptionNames) {
		t.Fatalf("manifest.OptionNames\n%q\nwant the option table\n%q", nodeagentjson.OptionNames, table)
	}
}
