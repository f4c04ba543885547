package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/tars"
)

// tarsConf wraps server and client lines (and adapter sections) in the
// sections of a TARS config.
func tarsConf(client, server string) string {
	return "<tars>\n  <application>\n    <client>\n" + client + "\n    </client>\n    <server>\n" + server + "\n    </server>\n  </application>\n</tars>\n"
}

// loadWithConf writes conf into dir, then loads `svc.bin -c conf args...`.
func loadWithConf(t *testing.T, conf string, args ...string) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	writeExec(t, filepath.Join(dir, "svc.bin"))
	writeFile(t, filepath.Join(dir, "App.Svc.config.conf"), conf, 0o644)
	opts, _ := testOpts(t, dir)
	return Load(append([]string{"svc.bin", "-c", "App.Svc.config.conf"}, args...), opts)
}

// TestTarsConfigTemplate reads the config tarsnode writes from the standard
// tars.default template.
func TestTarsConfigTemplate(t *testing.T) {
	dir := t.TempDir()
	writeExec(t, filepath.Join(dir, "gw"))
	conf, err := filepath.Abs("testdata/tars/Sms.Gateway.config.conf")
	if err != nil {
		t.Fatal(err)
	}
	opts, _ := testOpts(t, dir)
	c, err := Load([]string{"--config=" + conf, "gw"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{
		"Name": c.Name, "TarsConfig": c.TarsConfig, "LogDir": c.LogDir,
		"AppLogMaxSize": c.AppLogMaxSize, "AppLogMaxFiles": c.AppLogMaxFiles, "AppLogLevel": c.AppLogLevel,
		"TarsNode": c.TarsNode, "TarsLocal": c.TarsLocal, "TarsLocalAllow": c.TarsLocalAllow,
		"GracefulShutdown": c.GracefulShutdown,
		"InstancesMode":    c.InstancesMode, "Instances": c.Instances,
		"HTTPAddress": c.HTTPAddress,
		"Locator":     c.Locator, "Stat": c.Stat, "Property": c.Property, "ReportInterval": c.ReportInterval,
		"ModuleName": c.ModuleName, "Notify": c.Notify, "LocalIP": c.LocalIP,
		"WorkerDir": c.WorkerDir(),
		// untouched by the template
		"KeepaliveTime": c.KeepaliveTime, "ExceptionMax": c.ExceptionMax, "TarsMonitor": c.TarsMonitor,
	}
	want := map[string]any{
		"Name": "Sms.Gateway", "TarsConfig": conf, "LogDir": "/usr/local/app/tars/app_log",
		"AppLogMaxSize": int64(10 << 20), "AppLogMaxFiles": 10, "AppLogLevel": LevelDebug,
		"TarsNode":  "tars.tarsnode.ServerObj@tcp -h 10.0.0.5 -p 19386 -t 60000",
		"TarsLocal": "tcp -h 127.0.0.1 -p 31234 -t 10000", "TarsLocalAllow": "127.0.0.1;10.0.0.5",
		"GracefulShutdown": 2000 * time.Millisecond,
		"InstancesMode":    InstancesFixed, "Instances": 3,
		"HTTPAddress": "10.0.0.5:8080",
		"Locator":     "tars.tarsregistry.QueryObj@tcp -h 10.0.0.1 -p 17890:tcp -h 10.0.0.2 -p 17890",
		"Stat":        "tars.tarsstat.StatObj", "Property": "tars.tarsproperty.PropertyObj", "ReportInterval": time.Minute,
		"ModuleName": "Sms.Gateway", "Notify": "tars.tarsnotify.NotifyObj", "LocalIP": "10.0.0.5",
		"WorkerDir":     "/usr/local/app/tars/app_log", // where tarsnode starts a tars_go server
		"KeepaliveTime": DefaultKeepaliveTime, "ExceptionMax": DefaultExceptionMax, "TarsMonitor": true,
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s = %#v, want %#v", k, got[k], w)
		}
	}
}

// TestTarsConfigKeys maps every node-agent key of <server>.
func TestTarsConfigKeys(t *testing.T) {
	c, err := loadWithConf(t, tarsConf(`
      asyncthread=4
      locator=tars.tarsregistry.QueryObj@tcp -h 10.0.0.1 -p 17890`, `
      app=App
      server=Svc
      logpath=logs
      logsize=512K
      lognum=3
      log-files=7
      logLevel=warn
      node=tars.tarsnode.ServerObj@tcp -h 127.0.0.1 -p 19386 -t 60000
      local=tcp -h 127.0.0.1 -p 10000 -t 3000
      deactivating-timeout=5000
      run-as-user=alice
      run-as-group=sudo
      script-args=--region eu  --verbose
      node-args=--max-old-space-size=100
      max-memory-restart=512M
      exception-max=5
      exception-time=20000
      keepalive-time=off
      instances=max
      tars-monitor=off
      tars-monitor-http-threshold=500
      tars-monitor-http-seppath=false`))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(c.TarsConfig)
	checks := []struct {
		name      string
		got, want any
	}{
		{"name", c.Name, "App.Svc"},
		{"log (relative to the config)", c.LogDir, filepath.Join(dir, "logs")},
		{"applog-max-size", c.AppLogMaxSize, int64(512 << 10)},
		{"applog-max-files (log-files beats lognum)", c.AppLogMaxFiles, 7},
		{"applog-level", c.AppLogLevel, LevelWarn},
		{"tars-node", c.TarsNode, "tars.tarsnode.ServerObj@tcp -h 127.0.0.1 -p 19386 -t 60000"},
		{"tars-local", c.TarsLocal, "tcp -h 127.0.0.1 -p 10000 -t 3000"},
		{"graceful-shutdown", c.GracefulShutdown, 4000 * time.Millisecond},
		{"run-as", *c.RunAs, Credential{UID: 1000, GID: 27, User: "alice", Home: "/home/alice"}},
		{"script-args", c.WorkerArgs, []string{"--region", "eu", "--verbose"}},
		{"node-args", c.NodeArgs, []string{"--max-old-space-size=100"}},
		{"max-memory-restart", c.MaxMemoryRestart, int64(512 << 20)},
		{"exception-max", c.ExceptionMax, 5},
		{"exception-time", c.ExceptionTime, 20 * time.Second},
		{"keepalive-time", c.KeepaliveTime, time.Duration(0)},
		{"instances (beats asyncthread)", [2]any{c.InstancesMode, c.Instances}, [2]any{InstancesMax, 8}},
		{"tars-monitor", c.TarsMonitor, false},
		{"tars-monitor-http-threshold", c.TarsMonitorHTTPThreshold, 500},
		{"tars-monitor-http-seppath", c.TarsMonitorHTTPSeppath, false},
		{"locator", c.Locator, "tars.tarsregistry.QueryObj@tcp -h 10.0.0.1 -p 17890"},
		{"no http adapter", c.HTTPAddress, ""},
		{"no report-interval", c.ReportInterval, time.Duration(0)},
		{"no allow list", c.TarsLocalAllow, ""},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %#v, want %#v", ch.name, ch.got, ch.want)
		}
	}
}

// TestTarsConfigSmallCases covers asyncthread, lognum alone, empty values
// and the name.
func TestTarsConfigSmallCases(t *testing.T) {
	tests := []struct {
		name           string
		client, server string
		field          func(*Config) any
		want           any
	}{
		{"asyncthread 0 is auto", "asyncthread=0", "", func(c *Config) any { return [2]any{c.InstancesMode, c.Instances} }, [2]any{InstancesAuto, 3}},
		{"asyncthread 2", "asyncthread=2", "", func(c *Config) any { return c.Instances }, 2},
		{"asyncthread max", "asyncthread=max", "", func(c *Config) any { return c.Instances }, 8},
		{"lognum alone", "", "lognum=4", func(c *Config) any { return c.AppLogMaxFiles }, 4},
		{"empty values are absent", "asyncthread=\nlocator=", "logLevel=\nlognum=\nlog-files=\ninstances=\napp=App\nserver=\nkeepalive-time= ",
			func(c *Config) any {
				return []any{c.AppLogLevel, c.AppLogMaxFiles, c.InstancesMode, c.Name, c.KeepaliveTime, c.Locator}
			}, []any{LevelDebug, DefaultAppLogMaxFiles, InstancesAuto, "svc", DefaultKeepaliveTime, ""}},
		{"empty lognum does not hide log-files", "", "lognum=\nlog-files=2", func(c *Config) any { return c.AppLogMaxFiles }, 2},
		{"app alone is no name", "", "app=App", func(c *Config) any { return c.Name }, "svc"},
		{"escaped values are unescaped as TarsCpp does", "", `script-args=--mode\=prod --sep=\t --dir=C:\\x`,
			func(c *Config) any { return c.WorkerArgs }, []string{"--mode=prod", "--sep=", "--dir=C:\\x"}},
		{"report-interval", "report-interval=10000", "", func(c *Config) any { return c.ReportInterval }, 10 * time.Second},
		{"adapter with servant AdminObj", "", "<Adm>\nservant=AdminObj\nallow=127.0.0.1\n</Adm>", func(c *Config) any { return c.TarsLocalAllow }, "127.0.0.1"},
		{"empty config", "", "", func(c *Config) any {
			return []any{c.Name, c.InstancesMode, c.GracefulShutdown, c.HTTPAddress, c.LogDir}
		}, []any{"svc", InstancesAuto, TarsGracefulShutdown, "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadWithConf(t, tarsConf(tt.client, tt.server))
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.field(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestTarsConfigGraceful checks the deactivating-timeout − 1000 ms rule and
// the 7000 ms default under -c.
func TestTarsConfigGraceful(t *testing.T) {
	tests := []struct {
		server string
		args   []string
		want   time.Duration
	}{
		{"deactivating-timeout=3000", nil, 2000 * time.Millisecond},
		{"deactivating-timeout=1001", nil, time.Millisecond},
		{"deactivating-timeout=1000", nil, 0},
		{"deactivating-timeout=500", nil, 0},
		{"deactivating-timeout=0", nil, 0},
		{"deactivating-timeout=60000", nil, 59 * time.Second},
		{"", nil, TarsGracefulShutdown},
		{"deactivating-timeout=", nil, TarsGracefulShutdown},
		{"deactivating-timeout=3000", []string{"--graceful-shutdown", "100"}, 100 * time.Millisecond},
		{"deactivating-timeout=3000", []string{"--graceful-shutdown=0"}, 0},
		{"", []string{"--graceful-shutdown", "8000"}, 8000 * time.Millisecond},
		// the command line wins even over a bad config value
		{"deactivating-timeout=soon", []string{"--graceful-shutdown", "100"}, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		c, err := loadWithConf(t, tarsConf("", tt.server), tt.args...)
		if err != nil {
			t.Errorf("%q %q: %v", tt.server, tt.args, err)
			continue
		}
		if c.GracefulShutdown != tt.want {
			t.Errorf("%q %q: GracefulShutdown = %v, want %v", tt.server, tt.args, c.GracefulShutdown, tt.want)
		}
	}
	if TarsGracefulShutdown != 7000*time.Millisecond {
		t.Errorf("TarsGracefulShutdown = %v, want 7s", TarsGracefulShutdown)
	}
	// Without -c the default stays 8000 ms.
	dir := t.TempDir()
	writeExec(t, filepath.Join(dir, "svc.bin"))
	opts, _ := testOpts(t, dir)
	c, err := Load([]string{"svc.bin"}, opts)
	if err != nil || c.GracefulShutdown != DefaultGracefulShutdown {
		t.Errorf("no -c: %v, %v; want %v", c.GracefulShutdown, err, DefaultGracefulShutdown)
	}
}

// TestTarsConfigHTTPAddress: the first not_tars adapter in file order.
func TestTarsConfigHTTPAddress(t *testing.T) {
	adapter := func(name, proto, ep string) string {
		return "<" + name + ">\nendpoint=" + ep + "\nprotocol=" + proto + "\nservant=App.Svc." + name + "\n</" + name + ">\n"
	}
	tests := []struct {
		name    string
		server  string
		args    []string
		want    string
		wantErr []string
	}{
		{"first not_tars", adapter("Obj", "tars", "tcp -h 10.0.0.5 -p 10001") + adapter("Http", "not_tars", "tcp -h 0.0.0.0 -p 8080 -t 60000") + adapter("Http2", "not_tars", "tcp -h 10.0.0.5 -p 8081"), nil, "0.0.0.0:8080", nil},
		{"file order, not name order", adapter("Zeta", "not_tars", "tcp -h 127.0.0.1 -p 9001") + adapter("Alpha", "not_tars", "tcp -h 127.0.0.1 -p 9002"), nil, "127.0.0.1:9001", nil},
		{"ipv6", adapter("Http", "not_tars", "tcp -h ::1 -p 8080"), nil, "[::1]:8080", nil},
		{"only tars adapters", adapter("Obj", "tars", "tcp -h 10.0.0.5 -p 10001"), nil, "", nil},
		{"command line wins", adapter("Http", "not_tars", "tcp -h 10.0.0.5 -p 8080"), []string{"--http-address", ":9000"}, ":9000", nil},
		{"command line wins over a bad endpoint", adapter("Http", "not_tars", "tcp -p 8080"), []string{"--http-address", ":9000"}, ":9000", nil},
		{"no -h", adapter("Http", "not_tars", "tcp -p 8080"), nil, "", []string{"App.Svc.config.conf", "/tars/application/server/Http<endpoint>", `"tcp -p 8080"`}},
		{"port 0", adapter("Http", "not_tars", "tcp -h 127.0.0.1 -p 0"), nil, "", []string{"/tars/application/server/Http<endpoint>", "1 to 65535"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadWithConf(t, tarsConf("", tt.server), tt.args...)
			if tt.wantErr != nil {
				wantUsageError(t, err, tt.wantErr...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.HTTPAddress != tt.want {
				t.Errorf("HTTPAddress = %q, want %q", c.HTTPAddress, tt.want)
			}
		})
	}
}

// TestTarsConfigPrecedence: command line > TARS config > manifest > default,
// by presence.
func TestTarsConfigPrecedence(t *testing.T) {
	conf := tarsConf("asyncthread=4", "app=App\nserver=Svc\nkeepalive-time=60\nlogLevel=INFO\nlogsize=ten")

	t.Run("command line beats the config", func(t *testing.T) {
		c, err := loadWithConf(t, conf, "-i", "auto", "--keepalive-time", "off", "-n", "Other.Name", "--applog-max-size", "1M")
		if err != nil {
			t.Fatal(err) // the bad logsize is never read
		}
		if c.InstancesMode != InstancesAuto || c.Instances != 3 {
			t.Errorf("-i auto: %v %d, want auto 3", c.InstancesMode, c.Instances)
		}
		if c.KeepaliveTime != 0 || c.Name != "Other.Name" || c.AppLogMaxSize != 1<<20 {
			t.Errorf("keepalive %v name %q size %d", c.KeepaliveTime, c.Name, c.AppLogMaxSize)
		}
		if c.AppLogLevel != LevelInfo {
			t.Errorf("level %q, want INFO from the config", c.AppLogLevel)
		}
	})

	t.Run("the config's bad value", func(t *testing.T) {
		_, err := loadWithConf(t, conf)
		wantUsageError(t, err, "App.Svc.config.conf: /tars/application/server<logsize>", `bad value "ten"`)
	})

	t.Run("config beats the manifest", func(t *testing.T) {
		dir := t.TempDir()
		svc := filepath.Join(dir, "svc")
		writeExec(t, filepath.Join(svc, "bin", "server"))
		writeFile(t, filepath.Join(svc, ManifestName), `{"main": "bin/server", "name": "Pkg.Name", "instances": 2,
			"keepalive-time": 30, "applog-level": "ERROR", "graceful-shutdown": 500, "exception-max": 9,
			"config": "App.Svc.config.conf"}`, 0o644)
		writeFile(t, filepath.Join(svc, "App.Svc.config.conf"), tarsConf("asyncthread=4", "app=App\nserver=Svc\nkeepalive-time=60"), 0o644)
		opts, _ := testOpts(t, dir)

		// -c from the manifest, relative to its directory
		c, err := Load([]string{"svc"}, opts)
		if err != nil {
			t.Fatal(err)
		}
		got := []any{c.TarsConfig, c.Name, c.Instances, c.KeepaliveTime, c.AppLogLevel, c.GracefulShutdown, c.ExceptionMax}
		want := []any{filepath.Join(svc, "App.Svc.config.conf"), "App.Svc", 4, time.Minute, LevelError, 500 * time.Millisecond, 9}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}

		// -c on the command line beats the manifest's; the config still beats the manifest.
		other := writeFile(t, filepath.Join(dir, "other.conf"), tarsConf("asyncthread=0", "deactivating-timeout=3000"), 0o644)
		c, err = Load([]string{"svc", "-c", other}, opts)
		if err != nil {
			t.Fatal(err)
		}
		got = []any{c.TarsConfig, c.Name, c.InstancesMode, c.KeepaliveTime, c.GracefulShutdown}
		want = []any{other, "Pkg.Name", InstancesAuto, 30 * time.Second, 2000 * time.Millisecond}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

// TestTarsConfigErrors: a bad file names itself and the line.
func TestTarsConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		conf string
		args []string
		want []string
	}{
		{"unclosed", "<tars>\n  <application>\n    <server>\n      app=A\n  </application>\n</tars>\n", nil,
			[]string{"--config: bad TARS config", "App.Svc.config.conf:5:", "</application> does not match <server> opened at line 3"}},
		{"never closed", "<tars>\n<server>\n</server>\n", nil, []string{"App.Svc.config.conf:1:", "<tars> is never closed"}},
		{"junk line", "<tars>\nthis is not a key\n</tars>\n", nil, []string{"App.Svc.config.conf:2:"}},
		{"bad number", tarsConf("", "exception-max=many"), nil, []string{"App.Svc.config.conf: /tars/application/server<exception-max>", `"many"`}},
		{"bad asyncthread", tarsConf("asyncthread=-1", ""), nil, []string{"/tars/application/client<asyncthread>", `"-1"`, "auto or max"}},
		{"bad instances", tarsConf("", "instances=0"), nil, []string{"/tars/application/server<instances>", `"0"`}},
		{"bad deactivating-timeout", tarsConf("", "deactivating-timeout=3s"), nil, []string{"/tars/application/server<deactivating-timeout>", `"3s"`}},
		{"bad lognum", tarsConf("", "lognum=0"), nil, []string{"/tars/application/server<lognum>", "at least 1"}},
		{"bad report-interval", tarsConf("report-interval=1m", ""), nil, []string{"/tars/application/client<report-interval>", `"1m"`}},
		{"bad name", tarsConf("", "app=A/B\nserver=S"), nil, []string{"/tars/application/server<app>.<server>", `"A/B.S"`}},
		{"unknown user", tarsConf("", "run-as-user=mallory"), nil, []string{"/tars/application/server<run-as-user>", "mallory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadWithConf(t, tt.conf, tt.args...)
			wantUsageError(t, err, tt.want...)
		})
	}

	// The parser's *tars.ConfigError stays reachable.
	_, err := loadWithConf(t, "<tars>\n")
	var ce *tars.ConfigError
	if !errors.As(err, &ce) || ce.Line != 1 || !strings.HasSuffix(ce.File, "App.Svc.config.conf") {
		t.Errorf("error %v: want a *tars.ConfigError at line 1", err)
	}

	// Missing and unreadable files.
	dir := t.TempDir()
	writeExec(t, filepath.Join(dir, "svc.bin"))
	opts, _ := testOpts(t, dir)
	_, err = Load([]string{"svc.bin", "-c", "missing.conf"}, opts)
	wantUsageError(t, err, "--config", "missing.conf", "no such file")
	if os.Geteuid() != 0 {
		writeFile(t, filepath.Join(dir, "secret.conf"), "<tars>\n</tars>\n", 0o000)
		_, err = Load([]string{"svc.bin", "-c", "secret.conf"}, opts)
		wantUsageError(t, err, "--config", "secret.conf", "permission denied")
	}
}

// TestTarsConfigSetAndConfigObj: the set division (only with enableset=y),
// node_name, ConfigObj, basepath and datapath.
func TestTarsConfigSetAndConfigObj(t *testing.T) {
	conf := func(enable, div string) string {
		return strings.Replace(tarsConf("", "localip=10.0.0.5\nconfig=tars.tarsconfig.ConfigObj\nbasepath=/srv/bin/\ndatapath=/srv/data/"),
			"<application>\n", "<application>\nenableset="+enable+"\nsetdivision="+div+"\n", 1)
	}
	c, err := loadWithConf(t, conf("y", "sms.sz.1"))
	if err != nil {
		t.Fatal(err)
	}
	got := []any{c.SetDivision, c.NodeName, c.ConfigObj, c.BasePath, c.DataPath}
	want := []any{"sms.sz.1", "10.0.0.5", "tars.tarsconfig.ConfigObj", "/srv/bin/", "/srv/data/"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
	if c, err := loadWithConf(t, conf("n", "sms.sz.1")); err != nil || c.SetDivision != "" {
		t.Fatalf("enableset=n: %q, %v", c.SetDivision, err)
	}
	for _, bad := range []string{"NULL", "sms.sz", "sms..1", "*.sz.1", "a.b.c.d"} {
		_, err := loadWithConf(t, conf("Y", bad))
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "enableset=y with a bad setdivision") {
			t.Errorf("setdivision %q: %v", bad, err)
		}
	}
}

// TestTarsConfigWorkerDir: under a TARS config the workers run in
// <server>logpath, as tarsnode runs a tars_go server (a relative one is
// the config's directory's); without logpath, and without a TARS config,
// in the entry's directory.
func TestTarsConfigWorkerDir(t *testing.T) {
	for _, c := range []struct{ server, want string }{
		{"logpath=/srv/app_log", "/srv/app_log"},
		{"logpath=/srv/app_log/", "/srv/app_log"},
		{"logpath=logs", "CONF/logs"},
		{"", "ENTRY"},
	} {
		cfg, err := loadWithConf(t, tarsConf("", "app=App\nserver=Svc\n"+c.server))
		if err != nil {
			t.Fatal(err)
		}
		want := strings.NewReplacer("CONF", filepath.Dir(cfg.TarsConfig), "ENTRY", cfg.Entry.Dir).Replace(c.want)
		if got := cfg.WorkerDir(); got != want {
			t.Errorf("%q: WorkerDir %q, want %q", c.server, got, want)
		}
	}
	dir := t.TempDir()
	writeExec(t, filepath.Join(dir, "svc.bin"))
	opts, _ := testOpts(t, dir)
	cfg, err := Load([]string{"svc.bin"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.WorkerDir() != dir {
		t.Fatalf("without TARS: WorkerDir %q, want %q", cfg.WorkerDir(), dir)
	}
}
