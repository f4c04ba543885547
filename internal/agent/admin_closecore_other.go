//go:build !linux

package agent

import "fmt"

// closeCore needs prlimit(2), which only Linux has.
func (s *Supervisor) closeCore(string) (string, error) {
	return "", fmt.Errorf("%s: not supported on this system (it needs prlimit)", CmdCloseCore)
}
