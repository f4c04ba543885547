// Package deploy builds and checks node-agent release packages: the Go
// counterpart of TARS's tars-deploy (SPEC §14). It is used by
// `node-agent deploy` (also run as `tars-deploy`) and imports only the
// standard library; the Go build is a subprocess.
//
// # Building a package
//
// Run in the directory of the service's main package, or point --dir at it;
// the package may sit anywhere inside a Go module:
//
//	node-agent deploy GatewayServer
//	node-agent deploy GatewayServer --dir ./cmd/gateway --include conf --include 'web/*.html'
//	node-agent deploy GatewayServer --goarch arm64 --agent ./dist/node-agent-linux-arm64
//	node-agent deploy GatewayServer --set instances=4 --set http-address=0.0.0.0:8080 --json
//
// NAME is the TARS server name (not App.Server) and must match ^[0-9A-Za-z]+$.
// Flags may come before or after NAME. The service is built with
//
//	CGO_ENABLED=0 GOOS=… GOARCH=… go build -trimpath -buildvcs=false \
//	    -ldflags "-s -w -buildid= -X main.version=VERSION" .
//
// (--cgo sets CGO_ENABLED=1; a `var version string` in package main receives
// the version). The result is NAME.tgz in the current directory (or -o PATH;
// -o DIR means DIR/NAME.tgz) and NAME.tgz.sha256 beside it, in sha256sum
// format, so `sha256sum -c NAME.tgz.sha256` works in that directory.
//
// # Layout
//
//	NAME/
//	NAME/NAME/
//	NAME/NAME/NAME               0755  the agent (node-agent) for the target platform
//	NAME/NAME/app/
//	NAME/NAME/app/NAME           0755  the service
//	NAME/NAME/conf/app.yaml      0644  --include conf (example)
//	NAME/NAME/node-agent.json    0644  the manifest
//
// tarsnode unpacks a package, descends the chain of single directories to
// NAME/NAME/ and copies it into the server's bin/; a server of type tars_go
// is then started as `bin/NAME --config=CONF`. The agent, started under a
// name other than node-agent, reads node-agent.json beside itself, supervises
// app/NAME with the manifest's options, and takes the TARS config from
// --config. Unpacked anywhere else, `NAME/NAME/NAME` runs the service the same
// way without TARS.
//
// # The agent binary
//
// Without --agent the running node-agent executable is packaged, which is
// right only when the target GOOS/GOARCH (--goos, --goarch; default the
// host's) is the host's. For another platform pass --agent PATH to a
// node-agent built for it (GOOS=linux GOARCH=arm64 go build -o … github.com/nodeagent/node-agent).
// The agent's ELF, Mach-O or PE header (and, for a Go binary, its recorded
// GOOS/GOARCH) must match the target; -f packages a mismatching or
// unreadable agent anyway, with a warning. agent_version in the manifest is
// the running agent's version, or for --agent the module version recorded in
// that binary, or "unknown".
//
// # The manifest
//
// node-agent.json is also the agent's option file, so its keys are fixed:
//
//	{
//	  "manifest_version": 1,
//	  "name": "GatewayServer",
//	  "main": "app/GatewayServer",           relative to the manifest's directory
//	  "version": "v1.4.0",
//	  "goos": "linux", "goarch": "amd64",
//	  "go_version": "go1.26.0",              the toolchain that built the service
//	  "agent_version": "v0.3.0",
//	  "build_time": "2025-01-31T10:00:00Z",  the reproducible epoch, RFC 3339 UTC
//	  "instances": "4",                      agent options from --set, sorted, string values
//	  "files": [{"path": "GatewayServer", "mode": "0755", "size": 9437184, "sha256": "…"}, …]
//	}
//
// "files" lists every file of the package except the manifest, sorted by
// path, modes in octal. Agent options use the long option names of SPEC §2
// ("http-address", "max-memory-restart", …; "name" is NAME itself); a TARS
// config or the command line overrides them at run time. No other key is
// written, and Verify refuses unknown keys, as the agent does.
//
// # Reproducibility
//
// Two builds of the same commit produce the same bytes, whatever the clock,
// time zone, umask, working directory, user, HOME, build cache or file times
// and owners, given the same Go toolchain (go.mod's toolchain line pins it)
// and the same node-agent (its compress/flate output and its agent binary
// are part of the package):
//
//   - entries are sorted by path, every parent directory is present;
//   - every entry's mtime is the epoch: SOURCE_DATE_EPOCH when set (an
//     integer; anything else is an error), else the committer time of HEAD
//     (`git log -1 --format=%ct` in the service directory), else DefaultEpoch
//     (1980-01-01T00:00:00Z);
//   - uid/gid 0 with empty user and group names, no access or change times;
//   - modes 0755 for directories and for files with any execute bit, 0644
//     for every other file;
//   - the gzip header has no file name, no time (MTIME 0) and OS 255;
//   - the service build drops paths (-trimpath), VCS stamping, the build ID
//     and symbol tables, and cgo unless --cgo.
//
// The default version is `git describe --tags --always --dirty` in the
// service directory, else DefaultVersion ("0.0.0-dev"). It is stable for a
// given commit and working tree: untracked files (such as NAME.tgz itself)
// do not make it "-dirty", but modified tracked files do, on purpose. Git
// refusing the repository (for example "dubious ownership" when another user
// owns it) silently falls back to 0.0.0-dev and the fixed epoch: pass
// --version and SOURCE_DATE_EPOCH in CI to be independent of git.
//
// # Included files
//
// --include GLOB (repeatable) takes path/filepath.Match patterns relative to
// the service directory; each file lands at the same relative path under
// NAME/NAME/, and a matched directory is included recursively. Refused, with
// nothing written: absolute patterns, patterns with a ".." element, malformed
// patterns, patterns matching nothing, a match that is or leads through a
// symlink resolving outside the module (the directory holding go.mod),
// symlink loops, devices, pipes and sockets, and paths colliding with NAME,
// app/ or node-agent.json. Symlinks that stay inside the module are
// followed and packaged as regular files. Never packaged, at any depth:
// .git .gitignore .gitattributes .gitmodules .svn _svn _git .hg .hgignore
// .bzr CVS .idea .vscode .DS_Store Thumbs.db _tmp_dir, and names ending in
// .tgz, .tgz.sha256, .swp or ~.
//
// # Failures
//
// Every failure returns an error wrapping one of the sentinels (ErrBadName,
// ErrNotMain, ErrAgent, ErrInclude, ErrBuild, …) whose message is one line
// saying what to do; `node-agent deploy` exits 2 for the ones that need a
// different invocation, 1 for build and I/O failures, printing the compiler
// output before the line for a build failure. The tarball is written to a
// temporary file beside the output, synced, and renamed into place with its
// checksum file, so a failure or an interrupt never leaves a partial
// NAME.tgz and keeps an earlier one intact. Progress lines ("[ 15%] building
// service") go to stderr when it is a terminal; --json prints one object
// {path, size, sha256, files} on stdout.
//
// # Verifying
//
// `node-agent deploy verify NAME.tgz` (Verify, VerifyFile) checks that the
// tarball is a single NAME/NAME/ tree of directories (0755) and regular files
// with clean names; that the manifest parses strictly, names NAME and
// app/NAME; that the agent and service exist and are 0755; and that every
// other file is listed with its exact mode, size and sha256 and every listed
// file exists. It also reads the gzip stream to its end (CRC, no trailing
// data) and, when NAME.tgz.sha256 sits beside the file, compares the
// digest. The error names the first mismatch in tar order, e.g.
//
//	invalid package: app/GatewayServer: sha256 mismatch: expected 3f…, found 9c…
//
// Verify bounds its work on hostile input (MaxEntries, MaxManifestSize,
// MaxUnpackedSize) and is fuzzed (FuzzVerify).
package deploy
