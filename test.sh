#!/usr/bin/env bash
# The README's test command. It installs what the tests need (and says
# nothing when it is already there), vets, checks for unused code (without
# arguments), runs every test with the race detector, and ends with the
# list of skipped tests and their reasons and one count line. Arguments go
# to go test:
#
#   ./test.sh -run 'Interop|Redis' -v
#
# What it installs, once:
#   - redis-server, tmux, promtool, systemd-analyze, node and npm, through
#     apt-get (as root, or through sudo without a password; otherwise it
#     says what to run);
#   - the TARS interop peers (@tars/rpc, @tars/stream) with npm ci into
#     tars/testdata/interop/node_modules, again whenever the lock file is
#     newer than the installed tree.
# A test whose tool is still missing skips with "missing tool: …" (listed at
# the end), or fails under CI=true (package internal/testtool).
#
# The exit status is go vet's or .ci/deadcode's when they fail, else go
# test's. Go's ./... skips testdata directories, so
# the reference gateway is named explicitly.
set -euo pipefail
cd "$(dirname "$0")"

say() { echo "test.sh: $*" >&2; }

# aptInstall installs Debian packages quietly, showing apt's output only
# when it fails.
aptInstall() {
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      say "missing $*: install them as root with: apt-get install -y $* (their tests skip, or fail under CI=true)"
      return 0
    fi
  fi
  say "installing $* with apt-get"
  local log
  log=$(mktemp)
  if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q update &&
         "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends "$@"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    say "apt-get install $* failed (see above)"
    return 1
  fi
  rm -f "$log"
}

# Programs the tests run: redis-server (the durable gateway's store), tmux
# (terminal commands tested through a real pty), promtool (contrib/'s rules
# and dashboard), systemd-analyze (node-agent unit), node and npm (the TARS
# interop peers).
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  aptInstall "${missing[@]}"
fi

# The npm packages of the TARS interop tests, installed again when the lock
# file changed (npm ci writes node_modules/.package-lock.json last).
interop=tars/testdata/interop
if command -v npm >/dev/null 2>&1 &&
   { [ ! -f "$interop/node_modules/.package-lock.json" ] ||
     [ "$interop/package-lock.json" -nt "$interop/node_modules/.package-lock.json" ] ||
     [ "$interop/package.json" -nt "$interop/node_modules/.package-lock.json" ]; }; then
  say "installing the TARS interop peers (npm ci --prefix $interop)"
  npm ci --prefix "$interop" --no-audit --no-fund --loglevel=error >&2
fi

go vet ./... ./testdata/gateway/...
# The unused-code check (.ci/deadcode) on a full run; a run narrowed by
# arguments (-run …) leaves it out.
if [ $# -eq 0 ]; then
  .ci/deadcode
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/testsummary" ./internal/testsummary
summaryArgs=()
for arg in "$@"; do
  case $arg in -v | -v=true | -test.v | -test.v=true) summaryArgs=(-v) ;; esac
done

set +e
go test -json -race -timeout 15m "$@" ./... ./testdata/gateway/... |
  "$tmp/testsummary" "${summaryArgs[@]}"
status=("${PIPESTATUS[@]}")
set -e
if [ "${status[0]}" != 0 ]; then
  exit "${status[0]}"
fi
exit "${status[1]}"
