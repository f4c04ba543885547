//go:build !linux

package config

import "errors"

// affinityCPUs is unsupported here: instance counting falls back to the
// online CPU count.
func affinityCPUs() (int, error) {
	return 0, errors.New("CPU affinity is only read on Linux")
}
