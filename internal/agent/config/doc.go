// Package config turns node-agent's command line and the files it leads to
// into one validated, typed Config (SPEC §2–§4). It is the only place that
// reads flags, manifests or option names: everything downstream reads
// Config fields.
//
// # Using it
//
//	cfg, err := config.Load(os.Args[1:], config.LoadOptions{Version: version})
//	switch {
//	case errors.Is(err, config.ErrHelp), errors.Is(err, config.ErrVersion):
//		return 0 // already printed
//	case errors.As(err, new(*config.UsageError)):
//		fmt.Fprintln(os.Stderr, "node-agent:", err)
//		return 2
//	case err != nil:
//		fmt.Fprintln(os.Stderr, "node-agent:", err)
//		return 1
//	}
//
// Load never exits and never prints anything but the help and version text.
// No arguments at all print the help (unless LoadOptions.DefaultEntry is
// set, the mode of a binary renamed by deploy). Every bad input is a
// *UsageError whose message is one line naming the option, value or file and
// what is expected, e.g.
//
//	--instances: bad value "0": want a number from 1 to 4096, auto or max
//	/srv/gw/node-agent.json: "instance": unknown key (keys are "main" and the long option names, like "instances")
//	/srv/gw/node-agent.json:3:3: malformed JSON: invalid character 'o' looking for beginning of object key string
//	entry ./gw is Go source but `go` was not found in PATH: executable file not found in $PATH
//
// A Go entry that does not compile is a *UsageError too, followed by the
// compiler's first ten lines. Failures of the machine itself (an unwritable
// build cache, no working directory) are plain errors: exit 1.
//
// # The command line
//
//	node-agent [options] ENTRY [options] [-- worker args...]
//
// Options may come before and after ENTRY. Each option is accepted as
// --name VALUE, --name=VALUE, -name VALUE and, for the one-letter aliases
// (-c, -n, -l, -i), -c VALUE and -c=VALUE. The value of an option is always
// the next argument, even when it starts with '-' (--script-args -v). "--"
// ends the options: everything after it goes to the workers, after the
// --script-args words. A second positional argument, an unknown option or an
// option without its value is a usage error. -h/--help and -V/--version print
// and return ErrHelp/ErrVersion. --watch is a switch: "--watch" means on and
// "--watch=off" is accepted; "--watch on" is not (the "on" would be a second
// positional argument).
//
// # Values
//
//   - Booleans: on/off, true/false, 1/0, case-insensitive.
//   - Sizes, one rule for every size option (SizeRule): a decimal number,
//     fraction allowed, with a unit B, K, M or G (case-insensitive, base
//     1024, 10MB = 10M): "4096B", "512K", "10M", "1.5G". A bare number
//     other than 0 is refused, naming the rule: the original read one as
//     megabytes for --max-memory-restart and as bytes for logsize.
//     --max-memory-restart takes "off" or 0 for no limit;
//     --applog-max-size must be above 0.
//   - -i: auto, max (case-insensitive) or 1 to MaxInstances (4096). auto is
//     the CPUs this process may use: the smaller of its affinity set
//     (sched_getaffinity) and the tightest cgroup CPU quota on the path from
//     its cgroup to the root, rounded up (cgroup v2 cpu.max, v1
//     cpu.cfs_quota_us/cpu.cfs_period_us). max is every online CPU
//     (/sys/devices/system/cpu/online, else runtime.NumCPU). Both are ≥ 1;
//     unreadable files count as "no limit".
//   - Milliseconds: --graceful-shutdown (≥ 0; 0 = SIGKILL at once),
//     --exception-time (≥ 1). Whole numbers only, no units.
//   - --exception-max ≥ 0, --applog-max-files ≥ 1.
//   - --keepalive-time: seconds ≥ 1, or off (0 also means off).
//   - --tars-monitor-http-threshold: an HTTP status 100–599, or off (or 0).
//   - --applog-level: DEBUG, INFO, WARN, ERROR, NONE, case-insensitive,
//     stored upper-case.
//   - --env: a JSON object; string, number and boolean values become strings
//     (numbers keep their JSON spelling); null, arrays, nested objects, keys
//     with '=' and invalid JSON are errors.
//   - --http-address and --metrics-address: IP:PORT, [IPv6]:PORT (zone
//     allowed), host:PORT or :PORT (every interface); a numeric port from 1
//     to 65535. Stored canonically ("[::1]:8080"). Whether it can be bound is
//     checked by the agent, not here.
//   - --steering: pack or spread, case-insensitive (default pack); how the
//     agent hands new connections to the workers' per-slot sockets (package
//     agent, "Sockets").
//   - --script-args and --node-args: split on runs of white space, no
//     quoting ("-a  b" is ["-a" "b"]). Use -- or a manifest array for
//     arguments containing spaces. --node-args is accepted and kept in
//     Config.NodeArgs only so the agent can warn that it has no effect.
//   - --name: no '/', white space or control characters, no leading or
//     trailing '.', no "..".
//   - Paths (--config, --log) are made absolute against the working
//     directory (command line), the manifest's directory (manifest) or the
//     TARS config's directory (logpath).
//     --config must name an existing regular file; --log must not name an
//     existing non-directory.
//   - --run-as-user/--run-as-group: a name, or digits meaning an id. User
//     alone: its uid, primary gid, name and home. User and group: the group
//     replaces the primary gid. Group alone: the agent's own uid with that
//     gid, User and Home empty. A numeric uid without a user database entry
//     needs --run-as-group (there is no primary group to take); a numeric gid
//     needs no entry. Unknown names are usage errors. Whether the agent may
//     switch to that identity is found out when the first worker starts.
//
// # Precedence: layered sources
//
// Every option is looked up in a list of sources, highest first; the first
// source that has the option decides it, otherwise the default (the Default*
// constants) applies. "Has" means present, whatever the value: "-i auto" or
// "--keepalive-time off" on the command line is never overridden by a file,
// and a file's bad value is never even read when the command line sets the
// option. The list is:
//
//  1. the command line (urfave/cli's IsSet),
//  2. the TARS config file (-c, below),
//  3. the node-agent.json manifest of a directory ENTRY,
//
// since the platform's config is written at deployment and the manifest at
// packaging. -c itself comes from the command line or the manifest. Options
// are replaced, never merged: an --env on the command line replaces the
// manifest's env object. The arguments after -- are the exception: they
// always follow the effective --script-args, wherever those came from.
//
// # The TARS config file (-c, SPEC §3)
//
// The file is read with tars.LoadConfig. These keys are options, their
// values read exactly like command-line text ("off", "max", "10M" work);
// an empty value counts as absent:
//
//	<tars><application><client>
//	  asyncthread                 --instances (0 means auto)
//	<tars><application><server>
//	  app, server                 --name app.server (both needed)
//	  logpath                     --log (relative: to the file's directory)
//	  logsize                     --applog-max-size
//	  lognum, log-files           --applog-max-files (log-files wins)
//	  logLevel                    --applog-level
//	  node, local                 --tars-node, --tars-local
//	  deactivating-timeout        --graceful-shutdown: the value − 1000 ms, 0 if ≤ 1000
//	  instances                   --instances (beats asyncthread)
//	  run-as-user, run-as-group, script-args, node-args, max-memory-restart,
//	  exception-max, exception-time, keepalive-time, tars-monitor,
//	  tars-monitor-http-threshold, tars-monitor-http-seppath: the same option
//	  <ADAPTER> endpoint          --http-address: host:port of the first adapter
//	                              section (file order) with protocol=not_tars
//
// With -c and no --graceful-shutdown from the command line, the config or
// the manifest, the default is TarsGracefulShutdown (7000 ms, the
// original's 8000 − 1000), so the agent is done before tarsnode's kill -9
// after deactivating-timeout.
//
// Other settings are kept as written for the TARS integration, not
// options: <client> locator, stat, property, report-interval (ms) and
// modulename, <server> notify and localip, node_name, config (the
// ConfigObj), basepath and datapath, /tars/application enableset and
// setdivision, and the allow list of an <AdminAdapter> section (or the
// adapter whose servant is AdminObj) in Config.TarsLocalAllow. logpath is
// also Config.TarsWorkDir, the workers' directory, whatever --log says. A missing, unreadable or malformed file is a
// *UsageError naming the file (and the line: "--config: bad TARS config:
// /srv/A.S.conf:12: </client> does not match <server> opened at line 9"); a
// bad value names the file, the section and the key:
//
//	/srv/A.S.conf: /tars/application/server<logsize>: bad value "ten": …
//
// Values are read (and errors reported) only for the options the config
// decides, as for the manifest. Config.TarsConfig is the file's absolute
// path; the agent exports it to the workers as TARS_CONFIG.
//
// # The manifest: node-agent.json
//
// A JSON object in a directory ENTRY:
//
//	{
//	  "main": "app/gateway",
//	  "name": "Sms.Gateway",
//	  "instances": "max",
//	  "keepalive-time": "off",
//	  "max-memory-restart": "512M",
//	  "http-address": "0.0.0.0:8080",
//	  "script-args": ["--region", "eu west"],
//	  "env": {"MODE": "prod", "WORKERS": 4},
//	  "watch": true
//	}
//
// "main" is the entry, relative to the manifest's directory: an executable or
// a Go main package directory. Every other key is a long option name (the
// command-line name without dashes) whose value is a string, number or
// boolean read exactly like command-line text, so "max", "off" and "10M"
// mean what they mean on the command line (unlike the Node.js original's
// package.json). script-args and node-args may be arrays (items taken as
// is); env may be a JSON object. null means the key is absent. The keys the
// deploy packager writes for people and verification are ignored: version,
// goos, goarch, go_version, agent_version, build_time, files,
// manifest_version. Any other key is a usage error naming the key and the
// file; malformed JSON names the file's line:column. Only a directory ENTRY's
// manifest is read: an executable ENTRY is run without one.
//
// # Entry resolution (SPEC §4)
//
// ENTRY (relative to the working directory) may be:
//
//   - an executable file: it must have an x bit (a .go file gets a hint to
//     give its package directory instead); the workers run in its
//     directory; the default name is its base name without extension
//     ("gateway.bin" → "gateway");
//   - a directory, searched in this order:
//     1. node-agent.json with a "main" key,
//     2. an executable file named like the directory,
//     3. an executable file named server, app, start, index (files without
//     an x bit are skipped and mentioned in the error),
//     4. a Go main package (go/build, current GOOS/GOARCH and tags; _test.go
//     files ignored), built as below.
//     The default name is the directory's base name, and a manifest's "name"
//     overrides it. A manifest without "main" still provides options and the
//     search continues at step 2.
//
// When nothing matches, the error lists everything that was searched.
// Entry.Dir, the workers' working directory, is the executable's directory,
// or for a built Go package its source directory, so relative paths in the
// service behave as under "go run". Under a TARS config the workers run in
// <server>logpath instead, as tarsnode runs a tars_go server
// (Config.WorkerDir).
//
// # Go build cache
//
// A Go main package is built with "go build -buildvcs=false -o TMP ." in its
// directory and renamed atomically into CacheDir/KEY/NAME (NAME = the package
// directory's base name). CacheDir defaults to
// $XDG_CACHE_HOME/node-agent/build, else $HOME/.cache/node-agent/build. KEY
// is a hash of: the content of every Go, cgo, assembly, syso and embedded
// file of every package the main package depends on that belongs to the main
// module or to a local replace directory (go list -deps); the main module's
// go.mod and go.sum (and go.work/go.work.sum when used), which pin every
// other module; and go env GOVERSION, GOOS, GOARCH, CGO_ENABLED, GOFLAGS,
// GOEXPERIMENT, GOWORK and the GO$GOARCH level. An unchanged package is not
// rebuilt (two go tool calls, go env and go list, still run to compute the
// key). VCS stamping is off because the key does not cover VCS state. Old
// entries are not pruned. Builder exposes the same build for reloads and
// --watch; it runs the go command through internal/gobuild, as deploy does.
package config
