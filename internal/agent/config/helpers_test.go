package config

import (
	"bytes"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// writeFile writes content to dir/name (creating parents) with mode perm.
func writeFile(t *testing.T, path, content string, perm os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeExec writes a tiny executable shell script.
func writeExec(t *testing.T, path string) string {
	t.Helper()
	return writeFile(t, path, "#!/bin/sh\nexit 0\n", 0o755)
}

// fakeUsers is a small user database: alice (1000/100), bob (1001/1001).
func fakeUsers() Users {
	users := []*user.User{
		{Uid: "1000", Gid: "100", Username: "alice", HomeDir: "/home/alice"},
		{Uid: "1001", Gid: "1001", Username: "bob", HomeDir: "/home/bob"},
	}
	groups := []*user.Group{{Gid: "100", Name: "users"}, {Gid: "1001", Name: "bob"}, {Gid: "27", Name: "sudo"}}
	return Users{
		Lookup: func(n string) (*user.User, error) {
			for _, u := range users {
				if u.Username == n {
					return u, nil
				}
			}
			return nil, user.UnknownUserError(n)
		},
		LookupID: func(id string) (*user.User, error) {
			for _, u := range users {
				if u.Uid == id {
					return u, nil
				}
			}
			return nil, user.UnknownUserIdError(mustAtoi(id))
		},
		LookupGroup: func(n string) (*user.Group, error) {
			for _, g := range groups {
				if g.Name == n {
					return g, nil
				}
			}
			return nil, user.UnknownGroupError(n)
		},
		LookupGroupID: func(id string) (*user.Group, error) {
			for _, g := range groups {
				if g.Gid == id {
					return g, nil
				}
			}
			return nil, user.UnknownGroupIdError(id)
		},
		Getuid: func() int { return 4242 },
	}
}

func mustAtoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// testOpts returns LoadOptions isolated from the host: 3 CPUs of affinity,
// 8 online, no cgroup limit, the fake user database, cwd = dir.
func testOpts(t *testing.T, dir string) (LoadOptions, *bytes.Buffer) {
	t.Helper()
	out := &bytes.Buffer{}
	return LoadOptions{
		Version:  "v9.9.9-test",
		Stdout:   out,
		Dir:      dir,
		CacheDir: filepath.Join(t.TempDir(), "cache"),
		SysRoot: fstest.MapFS{
			"sys/devices/system/cpu/online": {Data: []byte("0-7\n")},
			"proc/self/cgroup":              {Data: []byte("0::/\n")},
		},
		Affinity: func() (int, error) { return 3, nil },
		NumCPU:   func() int { return 8 },
		Users:    fakeUsers(),
	}, out
}

// wantUsageError fails unless err is a *UsageError containing every want.
func wantUsageError(t *testing.T, err error, want ...string) {
	t.Helper()
	var ue *UsageError
	if !errors.As(err, &ue) {
		t.Fatalf("error = %T %v; want *UsageError", err, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}
