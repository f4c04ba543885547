package config

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// Users is the user and group database run-as resolution consults; the
// zero value (and any nil field) means os/user and os.Getuid.
type Users struct {
	Lookup        func(name string) (*user.User, error)
	LookupID      func(uid string) (*user.User, error)
	LookupGroup   func(name string) (*user.Group, error)
	LookupGroupID func(gid string) (*user.Group, error)
	// Getuid returns the agent's own uid.
	Getuid func() int
}

// maxID is the largest usable uid/gid (4294967295 is "no id").
const maxID = 1<<32 - 2

// resolveRunAs turns --run-as-user/--run-as-group into a Credential; nil
// when neither is given. A value made of digits is an id, anything else a
// name. Rules:
//   - user only: that user's uid, primary gid, name and home;
//   - user and group: the user's uid, name and home with the group's gid;
//   - group only: the agent's own uid with that gid; User and Home empty;
//   - a numeric uid missing from the user database is accepted only with a
//     group (there is no primary group to take); User and Home are empty;
//   - a numeric gid missing from the group database is used as is;
//   - an unknown name is a *UsageError.
func resolveRunAs(u, g *value, db Users) (*Credential, error) {
	if u == nil && g == nil {
		return nil, nil
	}
	db = db.withDefaults()
	var c Credential
	if g != nil {
		gid, err := resolveGroup(*g, db)
		if err != nil {
			return nil, err
		}
		c.GID = gid
	}
	if u == nil {
		c.UID = uint32(db.Getuid())
		return &c, nil
	}
	name := strings.TrimSpace(u.text)
	numeric := isDigits(name)
	var usr *user.User
	var err error
	if numeric {
		if _, perr := parseID(name); perr != nil {
			return nil, u.errorf(perr)
		}
		usr, err = db.LookupID(name)
	} else {
		usr, err = db.Lookup(name)
	}
	if err != nil {
		var unknownID user.UnknownUserIdError
		if numeric && errors.As(err, &unknownID) && g != nil {
			id, _ := parseID(name)
			c.UID = id
			return &c, nil
		}
		if numeric && errors.As(err, &unknownID) {
			return nil, u.errorf(errors.New("no such user id in the user database: give --run-as-group too"))
		}
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return nil, u.errorf(errors.New("no such user"))
		}
		return nil, u.errorf(fmt.Errorf("looking up the user: %w", err))
	}
	uid, err := parseID(usr.Uid)
	if err != nil {
		return nil, u.errorf(fmt.Errorf("user database gives uid %q: %w", usr.Uid, err))
	}
	c.UID, c.User, c.Home = uid, usr.Username, usr.HomeDir
	if g == nil {
		gid, err := parseID(usr.Gid)
		if err != nil {
			return nil, u.errorf(fmt.Errorf("user database gives primary gid %q: %w", usr.Gid, err))
		}
		c.GID = gid
	}
	return &c, nil
}

// resolveGroup returns the gid of a group name or id.
func resolveGroup(g value, db Users) (uint32, error) {
	name := strings.TrimSpace(g.text)
	if isDigits(name) {
		id, err := parseID(name)
		if err != nil {
			return 0, g.errorf(err)
		}
		// A gid needs no database entry; only real lookup failures count.
		if _, err := db.LookupGroupID(name); err != nil {
			var unknown user.UnknownGroupIdError
			if !errors.As(err, &unknown) {
				return 0, g.errorf(fmt.Errorf("looking up the group: %w", err))
			}
		}
		return id, nil
	}
	grp, err := db.LookupGroup(name)
	if err != nil {
		var unknown user.UnknownGroupError
		if errors.As(err, &unknown) {
			return 0, g.errorf(errors.New("no such group"))
		}
		return 0, g.errorf(fmt.Errorf("looking up the group: %w", err))
	}
	id, err := parseID(grp.Gid)
	if err != nil {
		return 0, g.errorf(fmt.Errorf("group database gives gid %q: %w", grp.Gid, err))
	}
	return id, nil
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n > maxID {
		return 0, fmt.Errorf("want an id from 0 to %d", maxID)
	}
	return uint32(n), nil
}

func (db Users) withDefaults() Users {
	if db.Lookup == nil {
		db.Lookup = user.Lookup
	}
	if db.LookupID == nil {
		db.LookupID = user.LookupId
	}
	if db.LookupGroup == nil {
		db.LookupGroup = user.LookupGroup
	}
	if db.LookupGroupID == nil {
		db.LookupGroupID = user.LookupGroupId
	}
	if db.Getuid == nil {
		db.Getuid = os.Getuid
	}
	return db
}
