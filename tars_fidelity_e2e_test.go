package main

import (
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// TestGraceRestartUnderLoad: tars.gracerestart, as the admin registry's
// grace-restart task sends it over AdminF, runs the rolling reload of the
// gateway while keep-alive clients send without pause: TarsGo's reply,
// every worker replaced, no request lost.
func TestGraceRestartUnderLoad(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	local := fmt.Sprintf("tcp -h 127.0.0.1 -p %d -t 60000", freePort(t))
	a := startGateway(t, addr, "-i", "2", "--http-address", addr, "--tars-local", local)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	old := pidsAnswering(t, c, addr, 2)

	load := startKeepAliveLoad(addr, 8)
	defer load.finish()
	isOld := func(p string) bool { return old[p] }
	isNew := func(p string) bool { return !old[p] }
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		if !poll(60*time.Second, cond) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
	waitFor("the load to reach the old workers", func() bool { return load.count(isOld) >= 200 })

	if got, code := ctlReply("--local", local, "tars.gracerestart"); code != 0 || got != "restart gracefully!" {
		t.Fatalf("tars.gracerestart: exit %d, %q", code, got)
	}
	a.waitOutput(t, `reloaded 2 workers`, 5*time.Second)
	for p := range old {
		var pid int
		fmt.Sscan(p, &pid)
		waitFor("old worker "+p+" to exit", func() bool { return syscall.Kill(pid, 0) == syscall.ESRCH })
	}
	base := load.count(isNew)
	waitFor("the load to reach the new workers", func() bool { return load.count(isNew) >= base+200 })
	failures := load.finish()
	if len(failures) > 0 {
		t.Fatalf("%d requests failed during tars.gracerestart, first: %v", len(failures), failures[0])
	}
	t.Logf("%d answers from the old workers, %d from the new ones, none failed", load.count(isOld), load.count(isNew))
}
