package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestUnwritableLogDirExits2: a log root the agent cannot write (here a
// read-only file system) is one line on stderr and exit code 2, before
// any worker starts.
func TestUnwritableLogDirExits2(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a file system needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	defer exec.Command("umount", dir).Run()
	var out, errb bytes.Buffer
	code := run([]string{"node-agent", "/bin/true", "-n", "A.S", "-l", dir}, &out, &errb)
	msg := errb.String()
	if code != 2 || strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "node-agent: log directory: mkdir "+dir+"/A: read-only file system") {
		t.Fatalf("exit %d, stderr %q", code, msg)
	}
}
