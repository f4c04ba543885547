package tars

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestInteropRPCClientCallsAdminServer: a real @tars/rpc client calls our
// AdminF server: notify (commands known and unknown to the handler, one
// longer than 255 bytes, one that fails), an unknown function, getPid,
// tars_ping and shutdown.
func TestInteropRPCClientCallsAdminServer(t *testing.T) {
	h := &testAdmin{}
	s := startAdmin(t, h, ServerOptions{})
	long := strings.Repeat("x", 300)
	cmds := []string{"tars.viewstatus", "agent.scale 4", "no.such.command", long, "fail"}
	out := nodeRun(t, nil, "admin-client.js", append([]string{s.Endpoint()}, cmds...)...)
	var got []struct {
		Ret     json.RawMessage `json:"ret"`
		Code    int             `json:"code"`
		Message string          `json:"message"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got) != len(cmds)+4 {
		t.Fatalf("%s", out)
	}
	for i, cmd := range cmds[:4] {
		want, _ := json.Marshal("ok: " + cmd)
		if string(got[i].Ret) != string(want) {
			t.Errorf("notify(%q): %s", cmd, out)
		}
	}
	if f := got[4]; f.Code != int(ServerUnknownErr) || f.Message != "the agent has stopped" {
		t.Errorf("failing notify: %+v", f)
	}
	rest := got[len(cmds):]
	if rest[0].Code != int(ServerNoFuncErr) {
		t.Errorf("unknown function: %s", out)
	}
	if string(rest[1].Ret) != jsonNumber(os.Getpid()) || string(rest[2].Ret) != "0" {
		t.Errorf("getPid, tars_ping: %s", out)
	}
	if rest[3].Code != 0 || string(rest[3].Ret) != "null" {
		t.Errorf("shutdown: %s", out)
	}
	seen, shutdowns := h.seen()
	if len(seen) != len(cmds) || shutdowns != 1 {
		t.Fatalf("server saw %q, %d shutdowns", seen, shutdowns)
	}
}

func jsonNumber(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
