package watch

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestSettleWaitsForInPlaceWrites drives the completeness rule without
// timers: a file written in place is reported only after a quiet period in
// which it stayed the same; a file that landed by rename at once.
func TestSettleWaitsForInPlaceWrites(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "server")
	os.WriteFile(p, []byte("v1"), 0o755)
	ft, err := newFileTarget(p)
	if err != nil {
		t.Fatal(err)
	}
	check := func(step string, wantChanged, wantAgain bool) {
		t.Helper()
		if c, a := ft.settle(); c != wantChanged || a != wantAgain {
			t.Fatalf("%s: settle = (changed %v, again %v), want (%v, %v)", step, c, a, wantChanged, wantAgain)
		}
	}

	f, _ := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	f.WriteString("first half")
	ft.touched(p, true)
	check("half written", false, true)
	f.WriteString(", second half")
	f.Close()
	ft.touched(p, true)
	check("written again", false, true)
	check("stable for a period", true, false)
	check("nothing new", false, false)

	tmp := filepath.Join(dir, "server.new")
	os.WriteFile(tmp, []byte("v3"), 0o755)
	os.Rename(tmp, p)
	ft.touched(p, false)
	check("renamed over", true, false)

	os.Remove(p)
	ft.touched(p, false)
	check("removed", false, false)
	os.WriteFile(tmp, []byte("v4"), 0o755)
	os.Rename(tmp, p)
	ft.touched(p, false)
	check("back", true, false)
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "releases", "r1"), 0o755)
	os.WriteFile(filepath.Join(dir, "releases", "r1", "server"), nil, 0o755)
	os.Symlink("releases/r1", filepath.Join(dir, "current"))
	os.Symlink(filepath.Join(dir, "current", "server"), filepath.Join(dir, "abs"))
	os.Symlink("../abs", filepath.Join(dir, "releases", "up"))

	final, links, err := resolve(filepath.Join(dir, "releases", "up"))
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(filepath.Join(dir, "releases", "r1", "server"))
	if final != real {
		t.Fatalf("final %s, want %s", final, real)
	}
	want := []string{"releases/up", "abs", "current"}
	var got []string
	for _, l := range links {
		rel, _ := filepath.Rel(dir, l)
		got = append(got, rel)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("links %v, want %v", got, want)
	}
}

func TestIgnoredNames(t *testing.T) {
	for name, want := range map[string]bool{
		"main.go": false, "go.mod": false, "index.html": false,
		".main.go.swp": true, "main.go.swx": true, "main.go~": true, "4913": true,
		"#main.go#": true, ".hidden": true, "_x.go": true,
	} {
		if ignoredName(name) != want {
			t.Errorf("ignoredName(%q) = %v", name, !want)
		}
	}
}
