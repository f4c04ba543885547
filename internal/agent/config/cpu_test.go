package config

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"testing/fstest"
)

// TestCPUFixtures: -i auto and -i max against /proc and /sys fixtures under
// testdata/cpu.
func TestCPUFixtures(t *testing.T) {
	tests := []struct {
		fixture  string
		affinity int
		auto     int
		max      int
	}{
		{"v2-quota", 16, 2, 16},          // 1.5 CPUs of quota → 2
		{"v2-quota", 1, 1, 16},           // affinity is tighter
		{"v2-parent", 16, 1, 16},         // the limit is on an ancestor cgroup
		{"v2-unlimited", 32, 7, 7},       // "max" everywhere; affinity error → online "0-3,6,8-9"
		{"v2-container-root", 64, 3, 64}, // host path invisible, quota at the mount root
		{"v1-quota", 8, 1, 8},            // cfs 50000/100000 → 1
		{"v1-unlimited", 6, 6, 6},        // quota -1
		{"empty", 5, 5, 12},              // nothing readable: affinity, and NumCPU for max
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			h := cpuHost{
				root: os.DirFS(filepath.Join("testdata", "cpu", tt.fixture)),
				affinity: func() (int, error) {
					if tt.fixture == "v2-unlimited" {
						return 0, errors.New("no affinity")
					}
					return tt.affinity, nil
				},
				numCPU: func() int { return 12 },
			}
			if got := h.usableCPUs(); got != tt.auto {
				t.Errorf("usableCPUs = %d; want %d", got, tt.auto)
			}
			if got := h.onlineCPUs(); got != tt.max {
				t.Errorf("onlineCPUs = %d; want %d", got, tt.max)
			}
		})
	}
}

func TestCgroupEdgeCases(t *testing.T) {
	tests := []struct {
		name  string
		files fstest.MapFS
		limit int
		ok    bool
	}{
		{"no proc", fstest.MapFS{}, 0, false},
		{"garbage cgroup file", fstest.MapFS{"proc/self/cgroup": {Data: []byte("nonsense\n::\n")}}, 0, false},
		{"quota below one cpu", fstest.MapFS{
			"proc/self/cgroup":        {Data: []byte("0::/a\n")},
			"sys/fs/cgroup/a/cpu.max": {Data: []byte("1000 100000\n")},
		}, 1, true},
		{"quota without period", fstest.MapFS{
			"proc/self/cgroup":        {Data: []byte("0::/a\n")},
			"sys/fs/cgroup/a/cpu.max": {Data: []byte("400000")},
		}, 4, true},
		{"bad numbers", fstest.MapFS{
			"proc/self/cgroup":        {Data: []byte("0::/a\n")},
			"sys/fs/cgroup/a/cpu.max": {Data: []byte("lots 0\n")},
		}, 0, false},
		{"v1 plain cpu mount", fstest.MapFS{
			"proc/self/cgroup":                      {Data: []byte("3:cpu:/x\n")},
			"sys/fs/cgroup/cpu/x/cpu.cfs_quota_us":  {Data: []byte("300000\n")},
			"sys/fs/cgroup/cpu/x/cpu.cfs_period_us": {Data: []byte("100000\n")},
		}, 3, true},
		{"v1 cpuacct only is not cpu", fstest.MapFS{
			"proc/self/cgroup":                          {Data: []byte("3:cpuacct:/x\n")},
			"sys/fs/cgroup/cpuacct/x/cpu.cfs_quota_us":  {Data: []byte("100000\n")},
			"sys/fs/cgroup/cpuacct/x/cpu.cfs_period_us": {Data: []byte("100000\n")},
		}, 0, false},
		{"hybrid: tightest of v1 and v2", fstest.MapFS{
			"proc/self/cgroup": {Data: []byte("4:cpu,cpuacct:/s\n0::/s\n")},
			"sys/fs/cgroup/cpu,cpuacct/s/cpu.cfs_quota_us":  {Data: []byte("500000\n")},
			"sys/fs/cgroup/cpu,cpuacct/s/cpu.cfs_period_us": {Data: []byte("100000\n")},
			"sys/fs/cgroup/s/cpu.max":                       {Data: []byte("200000 100000\n")},
		}, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit, ok := cgroupCPULimit(tt.files)
			if limit != tt.limit || ok != tt.ok {
				t.Errorf("cgroupCPULimit = %d, %v; want %d, %v", limit, ok, tt.limit, tt.ok)
			}
		})
	}
}

func TestParseCPUList(t *testing.T) {
	for in, want := range map[string]int{"0": 1, "0-3": 4, "0-3,6,8-9\n": 7, "": 0, "5-5": 1} {
		if got, err := parseCPUList(in); err != nil || got != want {
			t.Errorf("parseCPUList(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"a", "3-1", "1-", "-1", "1,,2"} {
		if _, err := parseCPUList(in); err == nil {
			t.Errorf("parseCPUList(%q) succeeded; want error", in)
		}
	}
}

// TestRealHostCPUs: on this machine auto is between 1 and max.
func TestRealHostCPUs(t *testing.T) {
	h := cpuHost{root: os.DirFS("/"), affinity: affinityCPUs, numCPU: runtime.NumCPU}
	auto, all := h.usableCPUs(), h.onlineCPUs()
	if auto < 1 || auto > all {
		t.Errorf("auto %d, max %d", auto, all)
	}
}
