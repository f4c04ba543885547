package agent

import (
	"errors"
	"strings"
	"testing"
)

// TestInPlacePossible: the platform and PID 1 refusals are decided by
// inPlacePossible alone, so every platform's answer is tested here, on
// Linux; each refusal wraps ErrUpgradeRefused and says why and what to do.
func TestInPlacePossible(t *testing.T) {
	for _, c := range []struct {
		goos string
		pid  int
		want []string // "" = possible
	}{
		{"linux", 4242, nil},
		{"linux", 2, nil},
		{"linux", 1, []string{"the agent is PID 1", "the container would stop with every worker", "replace the container's image"}},
		{"darwin", 4242, []string{"needs Linux (this agent runs on darwin)", "restart the agent"}},
		{"freebsd", 4242, []string{"needs Linux (this agent runs on freebsd)"}},
		{"windows", 4242, []string{"needs Linux (this agent runs on windows)"}},
		// Not Linux wins: PID 1 is not the reason there.
		{"darwin", 1, []string{"needs Linux (this agent runs on darwin)"}},
	} {
		err := inPlacePossible(c.goos, c.pid)
		if c.want == nil {
			if err != nil {
				t.Errorf("%s, pid %d: refused: %v", c.goos, c.pid, err)
			}
			continue
		}
		if !errors.Is(err, ErrUpgradeRefused) {
			t.Errorf("%s, pid %d: %v, want a refusal", c.goos, c.pid, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s, pid %d: %q does not say %q", c.goos, c.pid, err, w)
			}
		}
	}
}
