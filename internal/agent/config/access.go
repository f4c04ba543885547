package config

import (
	"os/user"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// CheckRunAsAccess makes sure the workers' identity (--run-as-user and
// --run-as-group) can execute the entry: every directory above it must be
// searchable and the file executable by that uid, its gid or the user's
// other groups. A Go source entry built into the agent user's cache (under
// a home directory of mode 0700) is the usual failure; the error says how
// to build it elsewhere. The agent calls it before it starts anything;
// its error is a *UsageError (exit 2).
func CheckRunAsAccess(cfg *Config) error {
	if cfg.RunAs == nil || cfg.RunAs.UID == 0 {
		return nil
	}
	id := cfg.RunAs
	groups := map[uint32]bool{id.GID: true}
	if u, err := user.LookupId(strconv.FormatUint(uint64(id.UID), 10)); err == nil {
		if gids, err := u.GroupIds(); err == nil {
			for _, g := range gids {
				if n, err := strconv.ParseUint(g, 10, 32); err == nil {
					groups[uint32(n)] = true
				}
			}
		}
	}
	who := "--run-as-user " + id.User
	if id.User == "" {
		who = "uid " + strconv.FormatUint(uint64(id.UID), 10)
	}
	hint := ""
	if cfg.Entry.BuildCache != "" {
		hint = ": the Go entry was built into " + cfg.Entry.BuildCache + "; set XDG_CACHE_HOME to a directory that user can read (e.g. /var/cache) or build it yourself"
	}
	path := cfg.Entry.Path
	var dirs []string
	for d := filepath.Dir(path); ; d = filepath.Dir(d) {
		dirs = append([]string{d}, dirs...)
		if filepath.Dir(d) == d {
			break
		}
	}
	for _, d := range dirs {
		var st unix.Stat_t
		if err := unix.Stat(d, &st); err != nil {
			return usageWrap(err, "%s: cannot check access to %s", who, d)
		}
		if !allowed(st, id.UID, groups) {
			return usagef("%s cannot execute %s: directory %s (mode %o, uid %d) is closed to it%s", who, path, d, st.Mode&0o777, st.Uid, hint)
		}
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return usageWrap(err, "%s: cannot check access to %s", who, path)
	}
	if !allowed(st, id.UID, groups) {
		return usagef("%s cannot execute %s (mode %o, uid %d)%s", who, path, st.Mode&0o777, st.Uid, hint)
	}
	return nil
}

// allowed reports whether uid (in groups) has the execute (search) bit of st.
func allowed(st unix.Stat_t, uid uint32, groups map[uint32]bool) bool {
	switch {
	case st.Uid == uid:
		return st.Mode&0o100 != 0
	case groups[st.Gid]:
		return st.Mode&0o010 != 0
	}
	return st.Mode&0o001 != 0
}
