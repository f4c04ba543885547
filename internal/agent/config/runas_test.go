package config

import (
	"errors"
	"os/user"
	"testing"
)

func TestResolveRunAs(t *testing.T) {
	val := func(where, s string) *value { return &value{text: s, where: where} }
	u := func(s string) *value { return val("--run-as-user", s) }
	g := func(s string) *value { return val("--run-as-group", s) }
	tests := []struct {
		name string
		u, g *value
		want *Credential
		err  []string
	}{
		{"none", nil, nil, nil, nil},
		{"user name", u("alice"), nil, &Credential{UID: 1000, GID: 100, User: "alice", Home: "/home/alice"}, nil},
		{"user id", u("1001"), nil, &Credential{UID: 1001, GID: 1001, User: "bob", Home: "/home/bob"}, nil},
		{"user and group names", u("bob"), g("users"), &Credential{UID: 1001, GID: 100, User: "bob", Home: "/home/bob"}, nil},
		{"user and numeric group", u("alice"), g("27"), &Credential{UID: 1000, GID: 27, User: "alice", Home: "/home/alice"}, nil},
		{"numeric group not in db", u("alice"), g("5000"), &Credential{UID: 1000, GID: 5000, User: "alice", Home: "/home/alice"}, nil},
		{"group only: agent uid", nil, g("sudo"), &Credential{UID: 4242, GID: 27}, nil},
		{"unknown uid with group", u("7777"), g("7777"), &Credential{UID: 7777, GID: 7777}, nil},
		{"unknown uid alone", u("7777"), nil, nil, []string{"--run-as-user", `"7777"`, "give --run-as-group too"}},
		{"unknown user", u("mallory"), nil, nil, []string{"--run-as-user", `"mallory"`, "no such user"}},
		{"unknown group", u("alice"), g("wheel"), nil, []string{"--run-as-group", `"wheel"`, "no such group"}},
		{"uid too big", u("4294967295"), g("1"), nil, []string{"--run-as-user", "want an id"}},
		{"gid too big", nil, g("99999999999"), nil, []string{"--run-as-group", "want an id"}},
		{"blank", u(" "), nil, nil, []string{"--run-as-user"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveRunAs(tt.u, tt.g, fakeUsers())
			if tt.err != nil {
				wantUsageError(t, err, tt.err...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
				t.Errorf("resolveRunAs = %+v; want %+v", got, tt.want)
			}
		})
	}
}

// TestResolveRunAsLookupFailure: a broken database is reported, not taken
// for "no such user".
func TestResolveRunAsLookupFailure(t *testing.T) {
	db := fakeUsers()
	broken := errors.New("nss timeout")
	db.Lookup = func(string) (*user.User, error) { return nil, broken }
	_, err := resolveRunAs(&value{text: "alice", where: "--run-as-user"}, nil, db)
	wantUsageError(t, err, "looking up the user", "nss timeout")
	if !errors.Is(err, broken) {
		t.Errorf("error %v does not wrap the cause", err)
	}
}

// TestResolveRunAsRealDatabase: root exists on any Unix.
func TestResolveRunAsRealDatabase(t *testing.T) {
	c, err := resolveRunAs(&value{text: "0", where: "--run-as-user"}, nil, Users{})
	if err != nil {
		t.Skipf("no user database entry for uid 0: %v", err)
	}
	if c.UID != 0 || c.User == "" {
		t.Errorf("uid 0 resolved to %+v", c)
	}
}
