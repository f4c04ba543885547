package deploy

import (
	"errors"
	"testing"

	"github.com/nodeagent/node-agent/internal/manifest"
)

// TestEveryAgentOptionIsAccepted: deploy --set accepts every option the
// agent reads from a manifest (subreaper and ready-timeout were refused
// while deploy kept its own list), and refuses the rest.
func TestEveryAgentOptionIsAccepted(t *testing.T) {
	for _, k := range manifest.OptionNames {
		if err := checkAgentOptions(map[string]string{k: "x"}); err != nil {
			t.Errorf("--set %s=x: %v", k, err)
		}
	}
	for _, k := range []string{"name", "main", "no-such-option", "files"} {
		if err := checkAgentOptions(map[string]string{k: "x"}); !errors.Is(err, ErrBadOption) {
			t.Errorf("--set %s=x: %v, want ErrBadOption", k, err)
		}
	}
}
