#!/usr/bin/env bash
# node-agent vs PM2 cluster mode, in one run. See BENCHMARKS.md.
#
#   bench/run.sh [nabench flags]      e.g. bench/run.sh -reps 3 -kills 5
#   bench/run.sh -scenario memory     memory-limit restarts and sampling cost
#
# Builds node-agent, bench/worker and the driver (bench/cmd/nabench) into a
# temporary directory, installs PM2 (pinned) into a cache directory if it is
# not there yet, prints the versions and the machine, then runs the driver.
# Everything it starts is stopped on exit, Ctrl-C or SIGTERM; the driver
# has its own deadline (-timeout, 30 min by default).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$root/bench/lib.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/node-agent-bench.XXXXXX")
work=$tmp/work
driver=

bench_traps # stop everything on exit; see bench/lib.sh

bench_install_pm2

mkdir -p "$tmp/bin" "$work"
(
	cd "$root"
	go build -o "$tmp/bin/node-agent" .
	go build -o "$tmp/bin/worker" ./bench/worker
	go build -o "$tmp/bin/nabench" ./bench/cmd/nabench
)

bench_machine
echo "versions: $(go version | cut -d' ' -f3-), node $(node --version), pm2 $pm2v, node-agent $(bench_revision "$root" | tr -d '\n')"
echo "started: $(date -u +%Y-%m-%dT%H:%M:%SZ)"

"$tmp/bin/nabench" -agent "$tmp/bin/node-agent" -worker "$tmp/bin/worker" \
	-pm2 "$pm2" -app "$root/bench/pm2/app.js" -work "$work" "$@" &
driver=$!
status=0
wait "$driver" || status=$?
driver= # reaped: never signal its pid again
exit "$status"
