package config

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestLoadOptions runs every option of SPEC §2 through Load with good and
// bad values, given after ENTRY (the usual `node-agent ./svc -i 4` order).
func TestLoadOptions(t *testing.T) {
	dir := t.TempDir()
	entry := writeExec(t, filepath.Join(dir, "svc.bin"))
	tarsConf := writeFile(t, filepath.Join(dir, "conf", "svc.conf"), "<tars>\n</tars>\n", 0o644)
	logFile := writeFile(t, filepath.Join(dir, "afile"), "", 0o644)

	type check func(c *Config) any
	tests := []struct {
		name  string
		args  []string
		field check // returns the field under test
		want  any
		err   []string // substrings of the UsageError, when it should fail
	}{
		// -c / --config
		{"config short", []string{"-c", "conf/svc.conf"}, func(c *Config) any { return c.TarsConfig }, tarsConf, nil},
		{"config equals", []string{"--config=" + tarsConf}, func(c *Config) any { return c.TarsConfig }, tarsConf, nil},
		{"config missing", []string{"-c", "nope.conf"}, nil, nil, []string{"--config", "nope.conf", "no such file"}},
		{"config dir", []string{"-c", "conf"}, nil, nil, []string{"--config", "not a regular file"}},
		// -n / --name
		{"name", []string{"-n", "App.Server"}, func(c *Config) any { return c.Name }, "App.Server", nil},
		{"name long", []string{"--name=gw"}, func(c *Config) any { return c.Name }, "gw", nil},
		{"name default", nil, func(c *Config) any { return c.Name }, "svc", nil},
		{"name slash", []string{"-n", "a/b"}, nil, nil, []string{"--name", `"a/b"`}},
		{"name empty", []string{"-n", ""}, nil, nil, []string{"--name"}},
		{"name dots", []string{"-n", "a..b"}, nil, nil, []string{"--name"}},
		// -l / --log
		{"log", []string{"-l", "logs"}, func(c *Config) any { return c.LogDir }, filepath.Join(dir, "logs"), nil},
		{"log abs", []string{"--log", "/var/log/x"}, func(c *Config) any { return c.LogDir }, "/var/log/x", nil},
		{"log file", []string{"-l", logFile}, nil, nil, []string{"--log", "not a directory"}},
		{"log empty", []string{"-l", ""}, nil, nil, []string{"--log"}},
		// -i / --instances (fake host: affinity 3, 8 online)
		{"instances default", nil, func(c *Config) any { return [2]any{c.InstancesMode, c.Instances} }, [2]any{InstancesAuto, 3}, nil},
		{"instances auto", []string{"-i", "auto"}, func(c *Config) any { return [2]any{c.InstancesMode, c.Instances} }, [2]any{InstancesAuto, 3}, nil},
		{"instances max", []string{"-i", "max"}, func(c *Config) any { return [2]any{c.InstancesMode, c.Instances} }, [2]any{InstancesMax, 8}, nil},
		{"instances 4", []string{"-i", "4"}, func(c *Config) any { return [2]any{c.InstancesMode, c.Instances} }, [2]any{InstancesFixed, 4}, nil},
		{"instances long", []string{"--instances=2"}, func(c *Config) any { return c.Instances }, 2, nil},
		{"instances 0", []string{"-i", "0"}, nil, nil, []string{"--instances", `"0"`, "auto or max"}},
		{"instances word", []string{"-i", "lots"}, nil, nil, []string{"--instances", `"lots"`}},
		// --env
		{"env", []string{"--env", `{"A":"1","N":2,"B":false}`}, func(c *Config) any { return c.Env }, map[string]string{"A": "1", "N": "2", "B": "false"}, nil},
		{"env bad json", []string{"--env", `{A:1}`}, nil, nil, []string{"--env", "JSON object"}},
		{"env array", []string{"--env", `["A"]`}, nil, nil, []string{"--env", "JSON object"}},
		{"env nested", []string{"--env", `{"A":{}}`}, nil, nil, []string{"--env", `"A"`}},
		// --http-address
		{"http v4", []string{"--http-address", "127.0.0.1:8080"}, func(c *Config) any { return c.HTTPAddress }, "127.0.0.1:8080", nil},
		{"http v6", []string{"--http-address=[::1]:8080"}, func(c *Config) any { return c.HTTPAddress }, "[::1]:8080", nil},
		{"http host", []string{"--http-address", "localhost:80"}, func(c *Config) any { return c.HTTPAddress }, "localhost:80", nil},
		{"http no port", []string{"--http-address", "127.0.0.1"}, nil, nil, []string{"--http-address", "IP:PORT"}},
		{"http port 0", []string{"--http-address", "127.0.0.1:0"}, nil, nil, []string{"--http-address", "1 to 65535"}},
		{"http port big", []string{"--http-address", "127.0.0.1:70000"}, nil, nil, []string{"--http-address"}},
		// --script-args, --node-args, --
		{"script-args", []string{"--script-args", " -v  --port 80 "}, func(c *Config) any { return c.WorkerArgs }, []string{"-v", "--port", "80"}, nil},
		{"script-args dash value", []string{"--script-args", "-x"}, func(c *Config) any { return c.WorkerArgs }, []string{"-x"}, nil},
		{"dashdash", []string{"--", "-i", "5", "x y"}, func(c *Config) any { return c.WorkerArgs }, []string{"-i", "5", "x y"}, nil},
		{"script-args then dashdash", []string{"--script-args", "a b", "--", "c"}, func(c *Config) any { return c.WorkerArgs }, []string{"a", "b", "c"}, nil},
		{"empty dashdash", []string{"--"}, func(c *Config) any { return len(c.WorkerArgs) }, 0, nil},
		{"node-args", []string{"--node-args", "--max-old-space-size=100"}, func(c *Config) any { return c.NodeArgs }, []string{"--max-old-space-size=100"}, nil},
		// --run-as-user / --run-as-group (fake database)
		{"run-as-user", []string{"--run-as-user", "alice"}, func(c *Config) any { return *c.RunAs }, Credential{UID: 1000, GID: 100, User: "alice", Home: "/home/alice"}, nil},
		{"run-as-user id", []string{"--run-as-user", "1001"}, func(c *Config) any { return *c.RunAs }, Credential{UID: 1001, GID: 1001, User: "bob", Home: "/home/bob"}, nil},
		{"run-as both", []string{"--run-as-user", "alice", "--run-as-group", "sudo"}, func(c *Config) any { return *c.RunAs }, Credential{UID: 1000, GID: 27, User: "alice", Home: "/home/alice"}, nil},
		{"run-as-group only", []string{"--run-as-group", "users"}, func(c *Config) any { return *c.RunAs }, Credential{UID: 4242, GID: 100}, nil},
		{"run-as none", nil, func(c *Config) any { return c.RunAs == nil }, true, nil},
		{"run-as unknown user", []string{"--run-as-user", "mallory"}, nil, nil, []string{"--run-as-user", `"mallory"`, "no such user"}},
		{"run-as unknown group", []string{"--run-as-group", "wheel"}, nil, nil, []string{"--run-as-group", `"wheel"`, "no such group"}},
		// --max-memory-restart: bare number = MB
		{"mem default", nil, func(c *Config) any { return c.MaxMemoryRestart }, int64(0), nil},
		{"mem MB", []string{"--max-memory-restart", "512M"}, func(c *Config) any { return c.MaxMemoryRestart }, int64(512 << 20), nil},
		{"mem bare number", []string{"--max-memory-restart", "512"}, nil, nil, []string{"--max-memory-restart", "has no unit"}},
		{"mem G", []string{"--max-memory-restart", "1G"}, func(c *Config) any { return c.MaxMemoryRestart }, int64(1 << 30), nil},
		{"mem K", []string{"--max-memory-restart=512K"}, func(c *Config) any { return c.MaxMemoryRestart }, int64(512 << 10), nil},
		{"mem off", []string{"--max-memory-restart", "off"}, func(c *Config) any { return c.MaxMemoryRestart }, int64(0), nil},
		{"mem bad", []string{"--max-memory-restart", "lots"}, nil, nil, []string{"--max-memory-restart", `"lots"`}},
		{"mem negative", []string{"--max-memory-restart", "-1"}, nil, nil, []string{"--max-memory-restart"}},
		// --graceful-shutdown (ms, 0 allowed)
		{"graceful default", nil, func(c *Config) any { return c.GracefulShutdown }, 8 * time.Second, nil},
		{"graceful", []string{"--graceful-shutdown", "2500"}, func(c *Config) any { return c.GracefulShutdown }, 2500 * time.Millisecond, nil},
		{"graceful 0", []string{"--graceful-shutdown", "0"}, func(c *Config) any { return c.GracefulShutdown }, time.Duration(0), nil},
		{"graceful bad", []string{"--graceful-shutdown", "2s"}, nil, nil, []string{"--graceful-shutdown", `"2s"`}},
		// --exception-max (≥ 0), --exception-time (ms > 0)
		{"exc max", []string{"--exception-max", "5"}, func(c *Config) any { return c.ExceptionMax }, 5, nil},
		{"exc max 0", []string{"--exception-max", "0"}, func(c *Config) any { return c.ExceptionMax }, 0, nil},
		{"exc max neg", []string{"--exception-max", "-1"}, nil, nil, []string{"--exception-max"}},
		{"exc time", []string{"--exception-time", "60000"}, func(c *Config) any { return c.ExceptionTime }, time.Minute, nil},
		{"exc time 0", []string{"--exception-time", "0"}, nil, nil, []string{"--exception-time", "at least 1 ms"}},
		// --keepalive-time S|off
		{"keepalive default", nil, func(c *Config) any { return c.KeepaliveTime }, 300 * time.Second, nil},
		{"keepalive", []string{"--keepalive-time", "60"}, func(c *Config) any { return c.KeepaliveTime }, time.Minute, nil},
		{"keepalive off", []string{"--keepalive-time", "off"}, func(c *Config) any { return c.KeepaliveTime }, time.Duration(0), nil},
		{"keepalive bad", []string{"--keepalive-time", "5m"}, nil, nil, []string{"--keepalive-time", "off or a number"}},
		// --applog-max-files, --applog-max-size (bare = bytes), --applog-level
		{"files", []string{"--applog-max-files", "3"}, func(c *Config) any { return c.AppLogMaxFiles }, 3, nil},
		{"files 0", []string{"--applog-max-files", "0"}, nil, nil, []string{"--applog-max-files", "at least 1"}},
		{"size default", nil, func(c *Config) any { return c.AppLogMaxSize }, int64(10 << 20), nil},
		{"size", []string{"--applog-max-size", "1M"}, func(c *Config) any { return c.AppLogMaxSize }, int64(1 << 20), nil},
		{"size bytes", []string{"--applog-max-size", "4096B"}, func(c *Config) any { return c.AppLogMaxSize }, int64(4096), nil},
		{"size bare number", []string{"--applog-max-size", "4096"}, nil, nil, []string{"--applog-max-size", "has no unit"}},
		{"size 0", []string{"--applog-max-size", "0"}, nil, nil, []string{"--applog-max-size", "above 0"}},
		{"level", []string{"--applog-level", "warn"}, func(c *Config) any { return c.AppLogLevel }, LevelWarn, nil},
		{"level default", nil, func(c *Config) any { return c.AppLogLevel }, LevelDebug, nil},
		{"level bad", []string{"--applog-level", "verbose"}, nil, nil, []string{"--applog-level", "DEBUG, INFO, WARN, ERROR or NONE"}},
		// --tars-node, --tars-local
		{"tars-node", []string{"--tars-node", "tars.tarsnode.ServerObj@tcp -h 127.0.0.1 -p 19386 -t 60000"}, func(c *Config) any { return c.TarsNode }, "tars.tarsnode.ServerObj@tcp -h 127.0.0.1 -p 19386 -t 60000", nil},
		{"tars-local", []string{"--tars-local", "tcp -h 127.0.0.1 -p 10000 -t 3000"}, func(c *Config) any { return c.TarsLocal }, "tcp -h 127.0.0.1 -p 10000 -t 3000", nil},
		{"tars-local empty", []string{"--tars-local", " "}, nil, nil, []string{"--tars-local", "non-empty"}},
		// --tars-monitor*, booleans
		{"monitor default", nil, func(c *Config) any { return c.TarsMonitor }, true, nil},
		{"monitor off", []string{"--tars-monitor", "off"}, func(c *Config) any { return c.TarsMonitor }, false, nil},
		{"monitor false", []string{"--tars-monitor=false"}, func(c *Config) any { return c.TarsMonitor }, false, nil},
		{"monitor 0", []string{"--tars-monitor", "0"}, func(c *Config) any { return c.TarsMonitor }, false, nil},
		{"monitor bad", []string{"--tars-monitor", "maybe"}, nil, nil, []string{"--tars-monitor", "on, off"}},
		{"threshold", []string{"--tars-monitor-http-threshold", "500"}, func(c *Config) any { return c.TarsMonitorHTTPThreshold }, 500, nil},
		{"threshold off", []string{"--tars-monitor-http-threshold", "off"}, func(c *Config) any { return c.TarsMonitorHTTPThreshold }, 0, nil},
		{"threshold default", nil, func(c *Config) any { return c.TarsMonitorHTTPThreshold }, 400, nil},
		{"threshold bad", []string{"--tars-monitor-http-threshold", "42"}, nil, nil, []string{"--tars-monitor-http-threshold", "100 to 599"}},
		{"seppath", []string{"--tars-monitor-http-seppath", "off"}, func(c *Config) any { return c.TarsMonitorHTTPSeppath }, false, nil},
		{"seppath on", []string{"--tars-monitor-http-seppath", "1"}, func(c *Config) any { return c.TarsMonitorHTTPSeppath }, true, nil},
		{"seppath bad", []string{"--tars-monitor-http-seppath", "yes"}, nil, nil, []string{"--tars-monitor-http-seppath"}},
		// --metrics-address
		{"metrics", []string{"--metrics-address", "127.0.0.1:9100"}, func(c *Config) any { return c.MetricsAddress }, "127.0.0.1:9100", nil},
		{"metrics v6", []string{"--metrics-address", "[::1]:9100"}, func(c *Config) any { return c.MetricsAddress }, "[::1]:9100", nil},
		{"metrics bad", []string{"--metrics-address", "9100"}, nil, nil, []string{"--metrics-address"}},
		// --watch
		{"steering default", nil, func(c *Config) any { return c.Steering }, SteeringPack, nil},
		{"steering spread", []string{"--steering", "Spread"}, func(c *Config) any { return c.Steering }, SteeringSpread, nil},
		{"steering pack", []string{"--steering=pack"}, func(c *Config) any { return c.Steering }, SteeringPack, nil},
		{"steering bad", []string{"--steering", "even"}, nil, nil, []string{"--steering", `"even"`, "pack or spread"}},
		{"watch default", nil, func(c *Config) any { return c.Watch }, false, nil},
		{"watch", []string{"--watch"}, func(c *Config) any { return c.Watch }, true, nil},
		{"watch=on", []string{"--watch=on"}, func(c *Config) any { return c.Watch }, true, nil},
		{"watch=off", []string{"--watch=off"}, func(c *Config) any { return c.Watch }, false, nil},
		{"watch=bad", []string{"--watch=sometimes"}, nil, nil, []string{"--watch", `"sometimes"`}},
		{"watch value separate", []string{"--watch", "on"}, nil, nil, []string{"unexpected argument", `"on"`}},
		// syntax errors
		{"unknown long", []string{"--instance", "4"}, nil, nil, []string{"unknown option --instance"}},
		{"unknown short", []string{"-x"}, nil, nil, []string{"unknown option -x"}},
		{"missing value", []string{"-i"}, nil, nil, []string{"option -i needs a value", "N|auto|max"}},
		{"second positional", []string{"extra"}, nil, nil, []string{"unexpected argument", `"extra"`, "--"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, _ := testOpts(t, dir)
			c, err := Load(append([]string{"svc.bin"}, tt.args...), opts)
			if tt.err != nil {
				wantUsageError(t, err, tt.err...)
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.Entry.Path != entry {
				t.Errorf("Entry.Path = %q; want %q", c.Entry.Path, entry)
			}
			if got := tt.field(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v; want %#v", got, tt.want)
			}
		})
	}
}

// TestLoadDefaults checks a bare entry yields exactly the documented defaults.
func TestLoadDefaults(t *testing.T) {
	dir := t.TempDir()
	entry := writeExec(t, filepath.Join(dir, "gateway"))
	opts, _ := testOpts(t, dir)
	c, err := Load([]string{"./gateway"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := defaultConfig()
	want.Entry = Entry{Path: entry, Dir: dir}
	want.Name = "gateway"
	want.Instances = 3
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load = %+v\nwant   %+v", c, want)
	}
}

// TestLoadOptionPositions: options before and after ENTRY, mixed.
func TestLoadOptionPositions(t *testing.T) {
	dir := t.TempDir()
	writeExec(t, filepath.Join(dir, "gateway"))
	for _, args := range [][]string{
		{"./gateway", "-i", "4", "-n", "a.b"},
		{"-i", "4", "./gateway", "-n", "a.b"},
		{"-i", "4", "-n", "a.b", "./gateway"},
		{"-i=4", "--name", "a.b", "./gateway", "--", "x"},
	} {
		opts, _ := testOpts(t, dir)
		c, err := Load(args, opts)
		if err != nil {
			t.Fatalf("Load(%q): %v", args, err)
		}
		if c.Instances != 4 || c.Name != "a.b" {
			t.Errorf("Load(%q): instances %d name %q; want 4, a.b", args, c.Instances, c.Name)
		}
	}
}

func TestLoadHelpVersion(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{nil, {"-h"}, {"--help"}, {"./x", "--help"}, {"-help"}} {
		opts, out := testOpts(t, dir)
		if _, err := Load(args, opts); !errors.Is(err, ErrHelp) {
			t.Errorf("Load(%q) = %v; want ErrHelp", args, err)
		}
		for _, want := range []string{Usage, "--instances N|auto|max, -i N|auto|max", "--watch", "--version, -V"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("Load(%q) help lacks %q:\n%s", args, want, out)
			}
		}
	}
	for _, args := range [][]string{{"--version"}, {"-V"}} {
		opts, out := testOpts(t, dir)
		if _, err := Load(args, opts); !errors.Is(err, ErrVersion) {
			t.Errorf("Load(%q) = %v; want ErrVersion", args, err)
		}
		if got := out.String(); got != "node-agent v9.9.9-test\n" {
			t.Errorf("Load(%q) printed %q", args, got)
		}
	}
}

func TestLoadMissingEntry(t *testing.T) {
	dir := t.TempDir()
	opts, _ := testOpts(t, dir)
	_, err := Load([]string{"-i", "4"}, opts)
	wantUsageError(t, err, "no ENTRY given")
	_, err = Load([]string{"./nope"}, opts)
	wantUsageError(t, err, "entry ./nope", "no such file")
}

// TestLoadDefaultEntry: a renamed binary runs the directory it is given.
func TestLoadDefaultEntry(t *testing.T) {
	dir := t.TempDir()
	exe := writeExec(t, filepath.Join(dir, "svc", "server"))
	opts, _ := testOpts(t, dir)
	opts.DefaultEntry = filepath.Join(dir, "svc")
	c, err := Load(nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	if c.Entry.Path != exe || c.Name != "svc" {
		t.Errorf("entry %q name %q", c.Entry.Path, c.Name)
	}
	c, err = Load([]string{"--config=" + writeFile(t, filepath.Join(dir, "c.conf"), "", 0o644)}, opts)
	if err != nil || c.Entry.Path != exe || c.TarsConfig == "" {
		t.Errorf("Load(--config=…) = %+v, %v", c, err)
	}
}

// TestLoadPrecedence: command line > manifest > default, by presence: a
// command-line value equal to the default or "falsy" still wins.
func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	svc := filepath.Join(dir, "svc")
	writeExec(t, filepath.Join(svc, "bin", "server"))
	writeFile(t, filepath.Join(svc, ManifestName), `{
		"main": "bin/server",
		"name": "App.FromFile",
		"instances": 6,
		"keepalive-time": 60,
		"tars-monitor": true,
		"exception-max": 7,
		"graceful-shutdown": "100",
		"max-memory-restart": "10M",
		"script-args": ["--from", "file"],
		"env": {"FROM": "file"},
		"log": "logs"
	}`, 0o644)

	opts, _ := testOpts(t, dir)
	c, err := Load([]string{"svc"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "App.FromFile" || c.Instances != 6 || c.KeepaliveTime != time.Minute || c.ExceptionMax != 7 ||
		c.GracefulShutdown != 100*time.Millisecond || c.MaxMemoryRestart != 10<<20 ||
		!reflect.DeepEqual(c.WorkerArgs, []string{"--from", "file"}) || c.Env["FROM"] != "file" ||
		c.LogDir != filepath.Join(svc, "logs") || c.ExceptionTime != DefaultExceptionTime {
		t.Errorf("file values not applied: %+v", c)
	}

	c, err = Load([]string{"svc", "-i", "auto", "--keepalive-time", "off", "--tars-monitor", "off",
		"--exception-max", "0", "-n", "App.Cli", "--graceful-shutdown", "8000", "--", "tail"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if c.InstancesMode != InstancesAuto || c.Instances != 3 || c.KeepaliveTime != 0 || c.TarsMonitor ||
		c.ExceptionMax != 0 || c.Name != "App.Cli" || c.GracefulShutdown != DefaultGracefulShutdown {
		t.Errorf("command line did not win: %+v", c)
	}
	if want := []string{"--from", "file", "tail"}; !reflect.DeepEqual(c.WorkerArgs, want) {
		t.Errorf("WorkerArgs = %q; want %q (file script-args, then --)", c.WorkerArgs, want)
	}
	if c.MaxMemoryRestart != 10<<20 {
		t.Errorf("file value lost when the command line sets others")
	}
}

// TestLoadManifestValueErrors: a bad manifest value names the key and file.
func TestLoadManifestValueErrors(t *testing.T) {
	dir := t.TempDir()
	writeExec(t, filepath.Join(dir, "svc", "server"))
	mpath := writeFile(t, filepath.Join(dir, "svc", ManifestName), `{"instances": "lots"}`, 0o644)
	opts, _ := testOpts(t, dir)
	_, err := Load([]string{"svc"}, opts)
	wantUsageError(t, err, mpath, `"instances"`, `"lots"`)
	// the command line deciding the option means the file's value is not read
	if _, err := Load([]string{"svc", "-i", "2"}, opts); err != nil {
		t.Errorf("Load with -i overriding a bad file value: %v", err)
	}
}

func TestLoadUnderivableName(t *testing.T) {
	dir := t.TempDir()
	writeExec(t, filepath.Join(dir, "my svc"))
	opts, _ := testOpts(t, dir)
	_, err := Load([]string{"my svc"}, opts)
	wantUsageError(t, err, "give -n NAME")
	if c, err := Load([]string{"my svc", "-n", "ok"}, opts); err != nil || c.Name != "ok" {
		t.Errorf("Load -n ok = %v", err)
	}
}

// TestLoadRelativeDir: every path in Config is absolute, even with a
// relative LoadOptions.Dir.
func TestLoadRelativeDir(t *testing.T) {
	dir := t.TempDir()
	exe := writeExec(t, filepath.Join(dir, "svc", "server"))
	t.Chdir(dir)
	opts, _ := testOpts(t, ".")
	c, err := Load([]string{"svc", "-l", "logs"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(exe)
	if got, _ := filepath.EvalSymlinks(c.Entry.Path); got != real || !filepath.IsAbs(c.Entry.Dir) || !filepath.IsAbs(c.LogDir) {
		t.Errorf("Entry %+v LogDir %q", c.Entry, c.LogDir)
	}
}
