#!/usr/bin/env bash
# The log benchmark: 1e6 lines of 100 B from node-agent's workers and from
# PM2's (fork and cluster mode) into log files, in one run. See the "Logs"
# section of BENCHMARKS.md.
#
#   bench/logs/run.sh [logbench flags]     e.g. bench/logs/run.sh -reps 3
#
# Builds node-agent, bench/logs/worker and the driver (bench/logs/logbench)
# into a temporary directory, installs PM2 (pinned, the cache of
# bench/run.sh) if missing, prints the machine and versions, then runs the
# driver. Everything it starts is stopped on exit, Ctrl-C or SIGTERM; the
# driver has its own deadline (-timeout, 30 min by default).
set -euo pipefail

PM2_VERSION=7.0.4
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${NODE_AGENT_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/node-agent-bench}
pm2dir=$cache/pm2-$PM2_VERSION
pm2=$pm2dir/node_modules/.bin/pm2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/node-agent-logbench.XXXXXX")
work=$tmp/work
driver=

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [[ -n $driver ]]; then
		# The driver stops what it started on SIGTERM; give it 40 s.
		kill -TERM "$driver" 2>/dev/null || true
		local i
		for ((i = 0; i < 400; i++)); do
			kill -0 "$driver" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$driver" 2>/dev/null || true
		wait "$driver" 2>/dev/null || true
	fi
	# A PM2 daemon left behind (driver SIGKILLed) and its workers.
	local pidf god kids
	for pidf in "$work"/*/pm2-home/pm2.pid; do
		[[ -f $pidf ]] || continue
		god=$(cat "$pidf" 2>/dev/null || true)
		if [[ -n $god ]] && kill -0 "$god" 2>/dev/null; then
			kids=$(pgrep -P "$god" || true)
			PM2_HOME=$(dirname "$pidf") timeout 20 "$pm2" kill >/dev/null 2>&1 || true
			kill -KILL "$god" $kids 2>/dev/null || true
		fi
	done
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if [[ ! -x $pm2 ]]; then
	echo "run.sh: installing pm2@$PM2_VERSION into $pm2dir" >&2
	mkdir -p "$pm2dir"
	npm install --prefix "$pm2dir" --no-audit --no-fund --loglevel=error "pm2@$PM2_VERSION" >&2
fi
pm2v=$(node -p "require('$pm2dir/node_modules/pm2/package.json').version")

mkdir -p "$tmp/bin" "$work"
(
	cd "$root"
	go build -o "$tmp/bin/node-agent" .
	go build -o "$tmp/bin/worker" ./bench/logs/worker
	go build -o "$tmp/bin/logbench" ./bench/logs/logbench
)

echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: $(go version | cut -d' ' -f3-), node $(node --version), pm2 $pm2v, node-agent $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$root" && [[ -n $(git --no-optional-locks status --porcelain -- . ':!bench' ':!BENCHMARKS.md' 2>/dev/null) ]] && echo '+dirty')"
echo "log files on: $(df -T "$work" | awk 'NR==2 {print $2}') ($work)"
echo "started: $(date -u +%Y-%m-%dT%H:%M:%SZ)"

"$tmp/bin/logbench" -agent "$tmp/bin/node-agent" -worker "$tmp/bin/worker" \
	-pm2 "$pm2" -app "$root/bench/logs/app.js" -work "$work" "$@" &
driver=$!
status=0
wait "$driver" || status=$?
driver=
exit "$status"
