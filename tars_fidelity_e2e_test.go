package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/tars/tarstest"
)

// TestGraceRestartUnderLoad: tars.gracerestart, as the admin registry's
// grace-restart task sends it over AdminF, runs the rolling reload of the
// gateway while keep-alive clients send without pause: TarsGo's reply,
// every worker replaced, no request lost.
func TestGraceRestartUnderLoad(t *testing.T) {
	local := fmt.Sprintf("tcp -h 127.0.0.1 -p %d -t 60000", freePort(t))
	reloadUnderKeepAliveLoad(t, "tars.gracerestart", []string{"--tars-local", local}, func(*agentProcess) {
		if got, code := ctlReply("--local", local, "tars.gracerestart"); code != 0 || got != "restart gracefully!" {
			t.Fatalf("tars.gracerestart: exit %d, %q", code, got)
		}
	})
}

// TestInteropSetDivision: the gateway under a TARS config with
// enableset=y, setdivision=sms.sz.1, as tarsnode writes it for a set
// deployment. From the real @tars/rpc peers' decoded calls: the notify
// servant is looked up with findObjectByIdInSameSet in the set, with the
// node_name context; NotifyF carries the set; StatF rows have the set in
// slaveName and the slaveSet fields; PropertyF rows the set in moduleName
// and the set fields — as TarsGo reports them.
func TestInteropSetDivision(t *testing.T) {
	node := tarstest.StartControlNode(t)
	stat := tarstest.StartStatPeer(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	conf := filepath.Join(t.TempDir(), "Sms.Gateway.config.conf")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`<tars>
  <application>
    enableset=Y
    setdivision=sms.sz.1
    <client>
      locator=tars.tarsregistry.QueryObj@tcp -h 127.0.0.1 -p %d -t 3000
      stat=%s
      property=%s
      asyncthread=1
      modulename=Sms.Gateway
    </client>
    <server>
      app=Sms
      server=Gateway
      localip=127.0.0.1
      node_name=node-7
      notify=tars.tarsnotify.NotifyObj
      <Sms.Gateway.HttpAdapter>
        endpoint=tcp -h 127.0.0.1 -p %s -t 60000
        protocol=not_tars
      </Sms.Gateway.HttpAdapter>
    </server>
  </application>
</tars>
`, node.Ports.Query, stat.Stat, stat.Property, addr[strings.LastIndexByte(addr, ':')+1:])), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	a := startGateway(t, addr, "--config="+conf)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	pidsAnswering(t, c, addr, 1)

	q := node.NextOf(t, "tars.tarsregistry.QueryObj", "findObjectByIdInSameSet")
	if string(q.Args) != `{"id":"tars.tarsnotify.NotifyObj","setId":"sms.sz.1"}` || q.Context["node_name"] != "node-7" {
		t.Fatalf("locator call %s, context %v", q.Args, q.Context)
	}
	var ri struct{ SApp, SSet, SServer, SMessage, SNodeName string }
	json.Unmarshal(node.NextOf(t, "tars.tarsnotify.NotifyObj", "reportNotifyInfo").Args, &ri)
	if ri.SSet != "sms.sz.1" || ri.SMessage != "restart" || ri.SNodeName != "node-7" {
		t.Fatalf("notify %+v", ri)
	}

	a.cmd.Process.Signal(syscall.SIGTERM)
	if err := a.waitExit(t, 20*time.Second); err != nil {
		t.Fatalf("agent exit: %v", err)
	}
	stats, props := stat.Collect(t, 1, 1, 10*time.Second)
	h := stats["/healthz"]
	if h.Head.SlaveName != "Sms.Gateway.smssz1" || h.Head.SlaveSetName != "sms" || h.Head.SlaveSetArea != "sz" || h.Head.SlaveSetID != "1" ||
		h.Head.TarsVersion != version || h.Body.Count < 1 {
		t.Fatalf("StatF /healthz row %+v", h)
	}
	for name, p := range props {
		if p.Head.ModuleName != "Sms.Gateway.smssz1" || p.Head.SetName != "sms" || p.Head.SetArea != "sz" || p.Head.SetID != "1" {
			t.Fatalf("PropertyF row %s: %+v", name, p.Head)
		}
	}
}

// TestInteropConfigPush: a config file pushed from the TARS console
// reaches the gateway and changes its behaviour without a restart, with
// the gateway placed as tarsnode places a tars_go server. The ConfigObj of
// a real @tars/rpc control node serves gateway.conf. The worker runs in
// <server>logpath; at start it pulls -config gateway.conf itself, as a
// TarsGo service does (container.Worker.AddConfig: the agent calls
// loadConfigByInfo, found with findObjectByIdInSameSet, and writes the
// file into basepath); its relative SQLite file lands in datapath and
// nothing but the agent's logs in the log directory. The console's
// "tars.loadconfig gateway.conf" makes the agent fetch the new version,
// write it atomically and announce it to the worker, whose OnConfig
// callback applies the new rate limit: the same worker now accepts what it
// refused.
func TestInteropConfigPush(t *testing.T) {
	served := t.TempDir()
	limit := func(n int) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(served, "gateway.conf"), []byte(fmt.Sprintf("[rate_limit]\nper_phone = %d\nwindow = \"10m\"\n", n)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	limit(2)
	node := tarstest.StartControlNodeWithConfigs(t, served)
	server := t.TempDir() // tarsnode's server directory: bin/, data/, conf/
	base, data, logs := filepath.Join(server, "bin"), filepath.Join(server, "data"), filepath.Join(t.TempDir(), "app_log")
	for _, d := range []string{base, data} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	showLogs(t, logs)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	local := fmt.Sprintf("tcp -h 127.0.0.1 -p %d -t 10000", freePort(t))
	conf := filepath.Join(server, "Sms.Gateway.config.conf")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`<tars>
  <application>
    enableset=y
    setdivision=sms.sz.1
    <client>
      locator=tars.tarsregistry.QueryObj@tcp -h 127.0.0.1 -p %d -t 3000
      asyncthread=1
    </client>
    <server>
      app=Sms
      server=Gateway
      localip=127.0.0.1
      local=%s
      config=tars.tarsconfig.ConfigObj
      basepath=%s/
      datapath=%s/
      logpath=%s
      script-args=-config\=gateway.conf -store\=sqlite:sms.db
      <Sms.Gateway.HttpAdapter>
        endpoint=tcp -h 127.0.0.1 -p %s -t 60000
        protocol=not_tars
      </Sms.Gateway.HttpAdapter>
    </server>
  </application>
</tars>
`, node.Ports.Query, local, base, data, logs, addr[strings.LastIndexByte(addr, ':')+1:])), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	startGateway(t, addr, "--config="+conf)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	pids := pidsAnswering(t, c, addr, 1)
	var pid string
	for p := range pids {
		pid = p
	}
	if cwd, err := os.Readlink("/proc/" + pid + "/cwd"); err != nil || cwd != realPath(t, logs) {
		t.Fatalf("the worker runs in %q (%v), want <server>logpath %s", cwd, err, logs)
	}

	// The alarms look up the NotifyObj too, in any order.
	q := node.NextOf(t, "tars.tarsregistry.QueryObj", "findObjectByIdInSameSet")
	if strings.Contains(string(q.Args), "NotifyObj") {
		q = node.NextOf(t, "tars.tarsregistry.QueryObj", "findObjectByIdInSameSet")
	}
	if string(q.Args) != `{"id":"tars.tarsconfig.ConfigObj","setId":"sms.sz.1"}` || q.Context["node_name"] != "127.0.0.1" {
		t.Fatalf("ConfigObj lookup %s, context %v", q.Args, q.Context)
	}
	type configInfo struct {
		Appname, Servername, Filename, Setdivision, Host string
		BAppOnly                                         bool
	}
	want := configInfo{"Sms", "Gateway", "gateway.conf", "sms.sz.1", "127.0.0.1", false}
	var got configInfo
	if json.Unmarshal(node.NextOf(t, "tars.tarsconfig.ConfigObj", "loadConfigByInfo").Args, &got); got != want {
		t.Fatalf("loadConfigByInfo at start (the worker's AddConfig) %+v, want %+v", got, want)
	}

	msg := `{"phone":"+8613800000042","template":"verify_code","params":{"code":"1234"}}`
	for i, wantCode := range []int{http.StatusAccepted, http.StatusAccepted, http.StatusTooManyRequests} {
		if code, body := send(t, c, addr, msg); code != wantCode {
			t.Fatalf("send %d with the pulled limit of 2: %d %s", i+1, code, body)
		}
	}
	if _, err := os.Stat(filepath.Join(data, "sms.db")); err != nil {
		t.Fatalf("-store sqlite:sms.db is not in datapath: %v", err)
	}
	if ents, err := os.ReadDir(logs); err != nil || len(ents) != 1 || ents[0].Name() != "Sms" {
		t.Fatalf("the log directory holds %v (%v), want the agent's Sms/ only", ents, err)
	}

	limit(5) // the console's new version
	reply, code := ctlReply("--local", local, "tars.loadconfig", "gateway.conf")
	if wantReply := fmt.Sprintf("Getconfig Success!: gateway.conf\n0(%s): applied %s", pid, filepath.Join(base, "gateway.conf")); code != 0 || reply != wantReply {
		t.Fatalf("tars.loadconfig: exit %d, %q, want %q", code, reply, wantReply)
	}
	if json.Unmarshal(node.NextOf(t, "tars.tarsconfig.ConfigObj", "loadConfigByInfo").Args, &got); got != want {
		t.Fatalf("loadConfigByInfo %+v", got)
	}
	if b, err := os.ReadFile(filepath.Join(base, "gateway.conf")); err != nil || !strings.Contains(string(b), "per_phone = 5") {
		t.Fatalf("basepath file: %q %v", b, err)
	}
	if code, body := send(t, c, addr, msg); code != http.StatusAccepted {
		t.Fatalf("send 4 after the push of a limit of 5: %d %s", code, body)
	}
	if now := pidsAnswering(t, c, addr, 1); !now[pid] {
		t.Fatalf("worker %s was restarted: now %v", pid, now)
	}
	if reply, code := ctlReply("--local", local, "tars.loadconfig", "nosuch.conf"); code != 1 || !strings.Contains(reply, "Getconfig Error!: nosuch.conf") {
		t.Fatalf("missing file: exit %d, %q", code, reply)
	}
}

// showLogs logs the files under dir (an agent's -l) when t failed.
func showLogs(t *testing.T, dir string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(path)
				t.Logf("%s:\n%s", path, b)
			}
			return nil
		})
	})
}

// realPath is path with its symbolic links resolved, as /proc shows it.
func realPath(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
