package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestBinaryPlatform reads real Go binaries of three platforms.
func TestBinaryPlatform(t *testing.T) {
	for _, p := range [][2]string{{runtime.GOOS, runtime.GOARCH}, {"linux", otherArch()}, {"darwin", "arm64"}, {"windows", "amd64"}} {
		bin := fixtureBinary(t, "tiny", p[0], p[1])
		goos, goarch, err := binaryPlatform(bin)
		if err != nil || goos != p[0] || goarch != p[1] {
			t.Errorf("%s/%s binary read as %s/%s, %v", p[0], p[1], goos, goarch, err)
		}
		// Without Go build information the header alone still tells.
		f, err := os.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		goos, goarch, err = headerPlatform(f)
		f.Close()
		if err != nil || goos != p[0] || goarch != p[1] {
			t.Errorf("%s/%s header read as %s/%s, %v", p[0], p[1], goos, goarch, err)
		}
	}
}

// TestAgentPlatform: an agent for another platform is refused, named in the
// error, and packaged with -f with a warning.
func TestAgentPlatform(t *testing.T) {
	mac := fixtureBinary(t, "tiny", "darwin", "arm64")
	o := helloOptions(t, "Cross")
	o.Agent = mac
	_, err := Build(context.Background(), o)
	if !errors.Is(err, ErrAgent) || !strings.Contains(err.Error(), "built for darwin/arm64") {
		t.Fatalf("want ErrAgent naming darwin/arm64, got %v", err)
	}
	if got := listDir(t, filepath.Dir(o.Output)); got != "" {
		t.Errorf("refused build left %q", got)
	}

	var warnings []string
	o.Force = true
	o.Warn = func(msg string) { warnings = append(warnings, msg) }
	res, err := Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "darwin/arm64") {
		t.Errorf("warnings %q", warnings)
	}
	if _, err := VerifyFile(res.Path); err != nil {
		t.Error(err)
	}

	// A matching cross agent is accepted: the service is cross-built too.
	if testing.Short() {
		t.Skip("cross build of the service skipped in -short mode")
	}
	o = helloOptions(t, "Cross")
	o.GOARCH = otherArch()
	o.Agent = fixtureBinary(t, "tiny", runtime.GOOS, otherArch())
	if res, err = Build(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	_, entries := readPackage(t, mustRead(t, res.Path))
	svc := filepath.Join(t.TempDir(), "svc")
	os.WriteFile(svc, entries[4].data, 0o755)
	if goos, goarch, err := binaryPlatform(svc); err != nil || goos != runtime.GOOS || goarch != otherArch() {
		t.Errorf("service built for %s/%s, %v", goos, goarch, err)
	}
	if res.Manifest.GOARCH != otherArch() {
		t.Errorf("manifest goarch %s", res.Manifest.GOARCH)
	}
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
