#!/usr/bin/env bash
# Rolling reload under load: node-agent + the SMS gateway (SIGHUP to the
# agent) against PM2 cluster + the equivalent Node.js app (pm2 reload), in
# one run. See BENCHMARKS.md and the driver's doc (bench/reload/main.go).
#
#   bench/reload/run.sh [driver flags]   e.g. bench/reload/run.sh -reps 1 -systems pm2
#   bench/reload/run.sh -systems node-agent-upgrade,pm2-update   (upgrading the supervisor itself)
#
# Builds node-agent, the gateway and the driver into a temporary directory,
# installs PM2 (pinned, cached like bench/run.sh) and wrk (apt) if missing,
# prints the versions and the machine, then runs the driver. Everything it
# starts is stopped on exit, Ctrl-C or SIGTERM; the driver has its own
# deadline (-timeout, 45 min by default).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/bench/lib.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/node-agent-reload.XXXXXX")
work=$tmp/work
driver=

bench_traps # stop everything on exit; see bench/lib.sh

if ! command -v wrk >/dev/null; then
	echo "run.sh: installing wrk (apt-get)" >&2
	apt-get install -y wrk >&2 || { apt-get update >&2 && apt-get install -y wrk >&2; }
fi
bench_install_pm2

mkdir -p "$tmp/bin" "$work"
(
	cd "$root"
	go build -o "$tmp/bin/node-agent" .
	# Another version, for the upgrade in place (-systems node-agent-upgrade).
	go build -ldflags "-X main.version=bench-next" -o "$tmp/bin/node-agent-next" .
	go build -o "$tmp/bin/gateway" ./testdata/gateway
	go build -o "$tmp/bin/reload" ./bench/reload
)

bench_machine
echo "versions: $(go version | cut -d' ' -f3-), node $(node --version), pm2 $pm2v, $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), node-agent $(bench_revision "$root" | tr -d '\n')"
echo "started: $(date -u +%Y-%m-%dT%H:%M:%SZ)"

"$tmp/bin/reload" -agent "$tmp/bin/node-agent" -agent-next "$tmp/bin/node-agent-next" -gateway "$tmp/bin/gateway" \
	-pm2 "$pm2" -app "$here/app.js" -wrk "$(command -v wrk)" -lua "$here/pace.lua" \
	-work "$work" "$@" &
driver=$!
status=0
wait "$driver" || status=$?
driver= # reaped: never signal its pid again
echo "finished: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
exit "$status"
