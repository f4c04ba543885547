package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// SkipPrefix starts the message of every skip for a missing tool.
const SkipPrefix = "missing tool: "

// InCI reports whether the tests run under CI (CI=true, as CI sets it).
func InCI() bool { return os.Getenv("CI") == "true" }

// Require returns the path of program on PATH. When it is missing, the test
// fails under CI and is skipped elsewhere, naming install, the command that
// installs it (for example "apt-get install redis-server").
func Require(t testing.TB, program, install string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err != nil {
		Missing(t, program, install)
	}
	return path
}

// Missing stops the test because tool is not there: Fatal under CI, Skip
// elsewhere. install is the command that provides it.
func Missing(t testing.TB, tool, install string) {
	t.Helper()
	msg := SkipPrefix + tool + " (install: " + install + "; ./test.sh does it)"
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
