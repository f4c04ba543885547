package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/tars/tarstest"
)

// ctlReply runs `node-agent ctl ARGS…` in-process and returns stdout, or
// stderr when it failed, trimmed, with the exit code.
func ctlReply(args ...string) (string, int) {
	code, out, errOut := ctl(args...)
	if code != 0 {
		out = errOut
	}
	return strings.TrimSpace(out), code
}

// waitExit waits for the agent to exit and returns its error.
func (a *agentProcess) waitExit(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case err := <-a.exited:
		a.exited <- err
		return err
	case <-time.After(within):
		t.Fatalf("agent still running after %v", within)
		return nil
	}
}

// TestCtlAgainstAgent: node-agent ctl talks AdminF to a real agent running
// the gateway: agent commands, a command forwarded to every worker,
// shutdown.
func TestCtlAgainstAgent(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	local := fmt.Sprintf("tcp -h 127.0.0.1 -p %d -t 3000", freePort(t))
	a := startGateway(t, addr, "-i", "2", "--http-address", addr, "--tars-local", local)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	pidsAnswering(t, c, addr, 2)

	if got, code := ctlReply("--local", local, "tars.viewversion"); code != 0 || got != version {
		t.Fatalf("viewversion: %d %q", code, got)
	}
	if got, _ := ctlReply("--local", local, "preheatCheck"); got != "success" {
		t.Fatalf("preheatCheck: %q", got)
	}
	got, _ := ctlReply("--local", local, "agent.status")
	var st struct {
		Instances int
		Workers   []struct {
			ID, PID int
			State   string
		}
	}
	if err := json.Unmarshal([]byte(got), &st); err != nil || st.Instances != 2 || len(st.Workers) != 2 || st.Workers[1].State != "ready" {
		t.Fatalf("agent.status: %v %q", err, got)
	}
	got, _ = ctlReply("--local", local, "tars.viewstatus")
	for i, w := range st.Workers {
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^%d\(%d\): pid=%d worker=%d `, i, w.PID, w.PID, i)).MatchString(got) {
			t.Fatalf("tars.viewstatus: %q", got)
		}
	}
	if got, _ := ctlReply("--local", local, "tars.setloglevel", "info"); got != "tars.setloglevel INFO succ" {
		t.Fatalf("setloglevel: %q", got)
	}
	if got, code := ctlReply("--local", local, "shutdown"); code != 0 {
		t.Fatalf("shutdown: %d %q", code, got)
	}
	if err := a.waitExit(t, 20*time.Second); err != nil {
		t.Fatalf("agent exit after AdminF.shutdown: %v", err)
	}
	if _, code := ctlReply("--local", local, "tars.viewversion"); code != 1 {
		t.Fatalf("ctl to a stopped agent: exit %d, want 1", code)
	}
}

// TestInteropTarsPlatform: the agent under a TARS config, as tarsnode runs
// it: a real @tars/rpc control node receives reportVersion, keepAlive and
// the alarms; a real @tars/rpc client calls the agent's AdminF notify and
// shutdown.
func TestInteropTarsPlatform(t *testing.T) {
	node := tarstest.StartControlNode(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	localPort := freePort(t)
	conf := filepath.Join(t.TempDir(), "Sms.Gateway.config.conf")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`<tars>
  <application>
    <client>
      locator=tars.tarsregistry.QueryObj@tcp -h 127.0.0.1 -p %d -t 3000
      asyncthread=2
      modulename=Sms.Gateway
    </client>
    <server>
      app=Sms
      server=Gateway
      localip=127.0.0.1
      local=tcp -h 127.0.0.1 -p %d -t 10000
      node=tars.tarsnode.ServerObj@tcp -h 127.0.0.1 -p %d -t 60000
      notify=tars.tarsnotify.NotifyObj
      deactivating-timeout=6000
      <Sms.Gateway.HttpAdapter>
        endpoint=tcp -h 127.0.0.1 -p %s -t 60000
        protocol=not_tars
        servant=Sms.Gateway.HttpObj
      </Sms.Gateway.HttpAdapter>
    </server>
  </application>
</tars>
`, node.Ports.Query, localPort, node.Ports.Node, addr[strings.LastIndexByte(addr, ':')+1:])), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	a := startGateway(t, addr, "--config="+conf, "--env", `{"GATEWAY_FAULTS":"1"}`)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	pidsAnswering(t, c, addr, 2)

	v := node.NextOf(t, "tars.tarsnode.ServerObj", "reportVersion")
	var ver struct{ App, ServerName, Version string }
	if json.Unmarshal(v.Args, &ver); ver.App != "Sms" || ver.ServerName != "Gateway" || ver.Version != version {
		t.Fatalf("reportVersion %s", v.Args)
	}
	k := node.NextOf(t, "tars.tarsnode.ServerObj", "keepAlive")
	var info struct {
		Application, ServerName, Adapter string
		Pid                              int
	}
	if json.Unmarshal(k.Args, &info); info.Application != "Sms" || info.ServerName != "Gateway" || info.Pid != a.cmd.Process.Pid || info.Adapter != "" {
		t.Fatalf("keepAlive %s, agent pid %d", k.Args, a.cmd.Process.Pid)
	}
	type reportInfo struct{ SApp, SServer, SMessage, SThreadId string }
	alarm := func() reportInfo {
		var ri reportInfo
		json.Unmarshal(node.NextOf(t, "tars.tarsnotify.NotifyObj", "reportNotifyInfo").Args, &ri)
		return ri
	}
	if ri := alarm(); ri != (reportInfo{"Sms", "Gateway", "restart", ""}) {
		t.Fatalf("first notify %+v", ri)
	}
	crashed := fault(t, c, addr, "crash")
	if ri := alarm(); ri != (reportInfo{"Sms", "Gateway", "[alarm] worker exit unexpected", crashed}) {
		t.Fatalf("crash alarm %+v (crashed pid %s)", ri, crashed)
	}

	// A real @tars/rpc client: notify, then shutdown.
	cmd := exec.Command(tarstest.Node(t), "admin-client.js", fmt.Sprintf("tcp -h 127.0.0.1 -p %d -t 10000", localPort),
		"tars.viewversion", "preheatCheck", "no.such.command x")
	cmd.Dir = tarstest.InteropDir()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("admin-client.js: %v", err)
	}
	var replies []struct {
		Ret  any
		Code int
	}
	if err := json.Unmarshal(out, &replies); err != nil || len(replies) < 3 {
		t.Fatalf("admin-client.js printed %q: %v", out, err)
	}
	if replies[0].Ret != version || (replies[1].Ret != "success" && replies[1].Ret != "not ready") {
		t.Fatalf("replies %s", out)
	}
	// A command nobody handles: TarsGo's words with return 0, which the
	// admin registry counts as success, as it does for a TarsGo server.
	if replies[2].Ret != "no.such.command x not support now!" || replies[2].Code != 0 {
		t.Fatalf("unknown command: %s", out)
	}
	if err := a.waitExit(t, 20*time.Second); err != nil {
		t.Fatalf("agent exit after the node client's shutdown: %v", err)
	}
	// Every admin command is reported, as TarsGo reports it.
	for _, cmd := range []string{"tars.viewversion", "preheatCheck", "no.such.command x"} {
		if ri := alarm(); ri != (reportInfo{"Sms", "Gateway", "AdminServant::notify:" + cmd, ""}) {
			t.Fatalf("notify of %s: %+v", cmd, ri)
		}
	}
	if ri := alarm(); ri != (reportInfo{"Sms", "Gateway", "stop", ""}) {
		t.Fatalf("last notify %+v", ri)
	}
	if !strings.Contains(a.output(), "all workers stopped, exiting with code 0") {
		t.Fatal("no clean exit in the agent log")
	}
}

// TestInteropStatReports: the gateway under the agent with a TARS config
// naming stat and property servants; at shutdown the agent reports the
// last interval, and a real @tars/rpc StatF/PropertyF server decodes
// exactly the requests the client made, by interface and outcome.
func TestInteropStatReports(t *testing.T) {
	peer := tarstest.StartStatPeer(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	conf := filepath.Join(t.TempDir(), "Sms.Gateway.config.conf")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`<tars>
  <application>
    <client>
      stat=%s
      property=%s
      report-interval=60000
      asyncthread=2
      modulename=Sms.Gateway
    </client>
    <server>
      app=Sms
      server=Gateway
      localip=127.0.0.1
      <Sms.Gateway.HttpAdapter>
        endpoint=tcp -h 127.0.0.1 -p %s -t 60000
        protocol=not_tars
      </Sms.Gateway.HttpAdapter>
    </server>
  </application>
</tars>
`, peer.Stat, peer.Property, addr[strings.LastIndexByte(addr, ':')+1:])), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	a := startGateway(t, addr, "--config="+conf)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	healthz := 1 // startGateway's first successful poll
	for range 11 {
		resp, err := c.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		healthz++
	}
	for range 4 {
		resp, err := c.Post("http://"+addr+"/api/sms/send", "application/json", strings.NewReader(`{"phone":"12","content":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("bad request answered %d", resp.StatusCode)
		}
	}
	a.cmd.Process.Signal(syscall.SIGTERM)
	if err := a.waitExit(t, 20*time.Second); err != nil {
		t.Fatalf("agent exit: %v", err)
	}
	stats, props := peer.Collect(t, 2, 1, 10*time.Second)
	h, s := stats["/healthz"], stats["/api/sms/send"]
	if h.Body.Count < healthz || h.Body.ExecCount != 0 || s.Body.Count != 0 || s.Body.ExecCount != 4 {
		t.Fatalf("StatF rows: /healthz %+v, /api/sms/send %+v; want %d successes (the poll may add more) and 4 errors", h.Body, s.Body, healthz)
	}
	if h.Head.MasterName != "http_client" || h.Head.SlaveName != "Sms.Gateway" || h.FromClient {
		t.Fatalf("StatF head %+v fromClient %v", h.Head, h.FromClient)
	}
	t.Logf("StatF: /healthz %d, /api/sms/send %d errors; %d property rows", h.Body.Count, s.Body.ExecCount, len(props))
}
