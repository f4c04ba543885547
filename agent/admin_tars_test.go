package agent

import (
	"errors"
	"strings"
	"testing"
)

// TestFakeGraceRestart: tars.gracerestart runs the rolling reload and
// answers TarsGo's text once every worker is replaced; while it runs a
// second one fails with ErrReloadInProgress, and a failed reload is an
// error (AdminF answers non-zero).
func TestFakeGraceRestart(t *testing.T) {
	fr, old := startReady(t, 2, nil)
	reply := fr.notifyAsync("tars.gracerestart")
	n0 := fr.started()
	if _, err := fr.notifyErr("tars.gracerestart"); !errors.Is(err, ErrReloadInProgress) || err.Error() != "restart failed: reload in progress" {
		t.Fatalf("second gracerestart: %v", err)
	}
	fr.readyLinked(n0)
	n1 := fr.started()
	fr.exit(old[0], 0)
	fr.readyLinked(n1)
	if got := <-reply; got != "restart gracefully!" {
		t.Fatalf("gracerestart reply %q", got)
	}
	fr.exit(old[1], 0)

	reply = fr.notifyAsync("tars.gracerestart")
	bad := fr.started()
	fr.hello(bad)
	fr.exit(bad, 2)
	if got := <-reply; !strings.HasPrefix(got, "ERR restart failed: reload failed: worker 0") {
		t.Fatalf("failed gracerestart: %q", got)
	}
	fr.noStart()
	fr.stop(n0, n1)
}
