package config

import "golang.org/x/sys/unix"

// affinityCPUs returns the size of this process's CPU affinity set.
func affinityCPUs() (int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return 0, err
	}
	return set.Count(), nil
}
