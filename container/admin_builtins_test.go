package container_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nodeagent/node-agent/container/containertest"
)

// TestOnConfig: tars.loadconfig PATH calls the OnConfig callback with the
// path; its error is the command's; without a callback the command has no
// handler (the agent counts it as "read at the next start").
func TestOnConfig(t *testing.T) {
	a := containertest.New(t)
	w := a.Worker()
	if _, err := a.Call("tars.loadconfig", "/b/app.conf"); err == nil || !strings.HasPrefix(err.Error(), "no handler") {
		t.Fatalf("without OnConfig: %v", err)
	}
	got := make(chan string, 2)
	w.OnConfig(func(_ context.Context, path string) error {
		got <- path
		if strings.HasSuffix(path, "bad.conf") {
			return errors.New("line 3: bad value")
		}
		return nil
	})
	if text, err := a.Call("tars.loadconfig", "/b/app.conf"); err != nil || text != "applied /b/app.conf" || <-got != "/b/app.conf" {
		t.Fatalf("OnConfig: %q, %v", text, err)
	}
	if _, err := a.Call("tars.loadconfig", "/b/bad.conf"); err == nil || err.Error() != "config /b/bad.conf not applied: line 3: bad value" {
		t.Fatalf("failing OnConfig: %v", err)
	}
	help := a.Command("tars.help", "")
	for _, cmd := range []string{"tars.dumpstack", "tars.loadconfig", "tars.pprof", "tars.setloglevel", "tars.viewstatus"} {
		if !strings.Contains(help, cmd+"\n") && !strings.HasSuffix(help, cmd) {
			t.Fatalf("tars.help lacks %s: %q", cmd, help)
		}
	}
	if dump := a.Command("tars.dumpstack", ""); !strings.Contains(dump, "goroutine ") {
		t.Fatalf("tars.dumpstack: %.200q", dump)
	}
}
