package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nodeagent/node-agent/tars"
)

// The sections of a TARS config file Load reads (SPEC §3).
const (
	tarsAppPath    = "/tars/application"
	tarsServerPath = "/tars/application/server"
	tarsClientPath = "/tars/application/client"
)

// TarsGracefulShutdown is the default --graceful-shutdown when a TARS config
// is given but neither the command line, the config (deactivating-timeout)
// nor the manifest sets it: DefaultGracefulShutdown less the 1000 ms the
// original keeps in hand so that the agent is done before tarsnode's kill -9.
const TarsGracefulShutdown = DefaultGracefulShutdown - time.Second

// tarsServerKeys maps the <server> keys read as options with the same text
// to their option names. deactivating-timeout, lognum/log-files, app/server
// and the adapters are handled apart.
var tarsServerKeys = []struct{ key, option string }{
	{"logpath", "log"},
	{"logsize", "applog-max-size"},
	{"logLevel", "applog-level"},
	{"node", "tars-node"},
	{"local", "tars-local"},
	{"run-as-user", "run-as-user"},
	{"run-as-group", "run-as-group"},
	{"script-args", "script-args"},
	{"node-args", "node-args"},
	{"max-memory-restart", "max-memory-restart"},
	{"exception-max", "exception-max"},
	{"exception-time", "exception-time"},
	{"keepalive-time", "keepalive-time"},
	{"tars-monitor", "tars-monitor"},
	{"tars-monitor-http-threshold", "tars-monitor-http-threshold"},
	{"tars-monitor-http-seppath", "tars-monitor-http-seppath"},
}

// tarsSettings are the values of a TARS config that are not options: the
// framework's addresses and the report settings, for the TARS integration.
type tarsSettings struct {
	locator, stat, property, moduleName string
	reportInterval                      time.Duration
	notify, localIP, adminAllow         string
	nodeName, setDivision               string
	configObj, basePath, dataPath       string
	workDir                             string
}

// store copies the settings into cfg.
func (s tarsSettings) store(cfg *Config) {
	cfg.Locator, cfg.Stat, cfg.Property, cfg.ModuleName = s.locator, s.stat, s.property, s.moduleName
	cfg.ReportInterval = s.reportInterval
	cfg.Notify, cfg.LocalIP, cfg.TarsLocalAllow = s.notify, s.localIP, s.adminAllow
	cfg.NodeName, cfg.SetDivision = s.nodeName, s.setDivision
	cfg.ConfigObj, cfg.BasePath, cfg.DataPath = s.configObj, s.basePath, s.dataPath
	cfg.TarsWorkDir = s.workDir
}

// readTarsConfig reads the TARS config file path (absolute) into a source of
// options and the other settings. where names the option that gave the file
// (--config, or a manifest's "config"). A file that cannot be read or parsed
// is a *UsageError naming the file (and the line, for a syntax error); a bad
// report-interval too. Bad option values are not reported here but when the
// option is used (see value.err), so a command-line option still overrides a
// broken config value.
func readTarsConfig(path, where string) (mapSource, tarsSettings, error) {
	var set tarsSettings
	c, err := tars.LoadConfig(path)
	if err != nil {
		var ce *tars.ConfigError
		if errors.As(err, &ce) {
			return nil, set, usageWrap(ce, "%s: bad TARS config", where)
		}
		return nil, set, usageWrap(err, "%s: cannot read the TARS config file %s", where, path)
	}
	src := mapSource{}
	dir := filepath.Dir(path)
	// get returns a key's trimmed value; an empty value counts as absent.
	get := func(d *tars.ConfigDomain, key string) (string, bool) {
		if d == nil {
			return "", false
		}
		v, ok := d.Get(key)
		v = strings.TrimSpace(v)
		return v, ok && v != ""
	}
	where3 := func(section, key string) string { return fmt.Sprintf("%s: %s<%s>", path, section, key) }
	put := func(option, section, key, text string) {
		src[option] = value{text: text, where: where3(section, key), dir: dir}
	}

	client := c.Domain(tarsClientPath)
	server := c.Domain(tarsServerPath)

	// <client>asyncthread sets instances (0 = auto); <server>instances overrides it.
	if t, ok := get(client, "asyncthread"); ok {
		if n, err := strconv.Atoi(t); err == nil && n == 0 {
			t = "auto"
		}
		put("instances", tarsClientPath, "asyncthread", t)
	}
	if t, ok := get(server, "instances"); ok {
		put("instances", tarsServerPath, "instances", t)
	}

	for _, k := range tarsServerKeys {
		if t, ok := get(server, k.key); ok {
			put(k.option, tarsServerPath, k.key, t)
		}
	}
	// lognum is the standard TARS template's key (the original ignored it);
	// the original's log-files wins when both are set.
	for _, key := range []string{"lognum", "log-files"} {
		if t, ok := get(server, key); ok {
			put("applog-max-files", tarsServerPath, key, t)
		}
	}

	app, okApp := get(server, "app")
	srv, okSrv := get(server, "server")
	if okApp && okSrv {
		put("name", tarsServerPath, "app>.<server", app+"."+srv)
	}

	if t, ok := get(server, "deactivating-timeout"); ok {
		v := value{text: t, where: where3(tarsServerPath, "deactivating-timeout"), dir: dir}
		d, err := parseMillis(t)
		if err != nil {
			v.err = v.errorf(err)
		} else {
			v.text = strconv.FormatInt(max(d-time.Second, 0).Milliseconds(), 10)
		}
		src["graceful-shutdown"] = v
	}

	// The http address is the endpoint of the first not_tars adapter; the
	// AdminF allow list is that of an AdminAdapter section, if any.
	var httpDone, adminDone bool
	if server != nil {
		for _, a := range server.Children() {
			section := tarsServerPath + "/" + a.Name
			proto, _ := get(a, "protocol")
			if !httpDone && strings.EqualFold(proto, "not_tars") {
				httpDone = true
				if ep, ok := get(a, "endpoint"); ok {
					v := value{where: where3(section, "endpoint"), dir: dir}
					e, err := tars.ParseEndpoint(ep)
					if err != nil {
						v.text = ep
						v.err = v.errorf(err)
					} else {
						v.text = e.Address()
					}
					src["http-address"] = v
				}
			}
			servant, _ := get(a, "servant")
			if !adminDone && (a.Name == "AdminAdapter" || servant == "AdminObj" || strings.HasSuffix(servant, ".AdminObj")) {
				adminDone = true
				set.adminAllow, _ = get(a, "allow")
			}
		}
	}

	set.locator, _ = get(client, "locator")
	set.stat, _ = get(client, "stat")
	set.property, _ = get(client, "property")
	set.moduleName, _ = get(client, "modulename")
	set.notify, _ = get(server, "notify")
	set.localIP, _ = get(server, "localip")
	set.nodeName = set.localIP
	if v, ok := get(server, "node_name"); ok {
		set.nodeName = v
	}
	set.configObj, _ = get(server, "config")
	set.basePath, _ = get(server, "basepath")
	set.dataPath, _ = get(server, "datapath")
	if v, ok := get(server, "logpath"); ok {
		set.workDir = value{text: v, dir: dir}.path()
	}
	appDomain := c.Domain(tarsAppPath)
	if on, _ := get(appDomain, "enableset"); strings.EqualFold(on, "y") {
		div, _ := get(appDomain, "setdivision")
		if !ValidSetDivision(div) {
			return nil, set, usageWrap(fmt.Errorf("%q is not NAME.AREA.GROUP", div), "%s: enableset=y with a bad setdivision", where3(tarsAppPath, "setdivision"))
		}
		set.setDivision = div
	}
	if t, ok := get(client, "report-interval"); ok {
		d, err := parseMillis(t)
		if err != nil {
			return nil, set, usageWrap(err, "%s: bad value %q", where3(tarsClientPath, "report-interval"), t)
		}
		set.reportInterval = d
	}
	return src, set, nil
}

// ValidSetDivision reports whether s is a set division TARS accepts:
// "name.area.group", three dot-separated parts, name and area not empty
// and without '*' (the group may be "*", every group of the area).
func ValidSetDivision(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[2] == "" {
		return false
	}
	for _, p := range parts[:2] {
		if p == "" || strings.Contains(p, "*") {
			return false
		}
	}
	return true
}
