#!/usr/bin/env bash
# The SMS gateway's stores in one run: the file store of the gateway before
# issue 13 (built from commit $FILE_STORE_COMMIT), the embedded SQLite store
# and Redis, 4 workers each under node-agent. See BENCHMARKS.md.
#
#   bench/smsstore/run.sh [smsbench flags]     e.g. -reps 5 -rate 1000
#   BASE_COMMIT=abc123 bench/smsstore/run.sh   also the gateway of commit
#                                              abc123, as "sqlite-base"
#
# Builds node-agent, the gateway of this tree, the old gateway and the driver
# (bench/cmd/smsbench) into a temporary directory, starts a redis-server of
# its own on a free loopback port (appendonly yes, appendfsync always: a 202
# from the Redis store is on Redis's disk), prints the machine, then runs the
# driver. Everything it starts is stopped on exit.
set -euo pipefail

FILE_STORE_COMMIT=${FILE_STORE_COMMIT:-971d616}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/bench/lib.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/node-agent-smsbench.XXXXXX")
work=$tmp/work
driver=
redis=

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	[[ -n $driver ]] && bench_stop_driver "$driver"
	if [[ -n $redis ]]; then kill -KILL "$redis" 2>/dev/null || true; wait "$redis" 2>/dev/null || true; fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT INT TERM HUP

command -v redis-server >/dev/null || { echo "${0##*/}: redis-server missing (apt-get install redis-server)" >&2; exit 1; }
mkdir -p "$tmp/bin" "$work" "$tmp/old" "$tmp/redis"
(
	cd "$root"
	go build -o "$tmp/bin/node-agent" .
	go build -o "$tmp/bin/gateway" ./testdata/gateway
	go build -o "$tmp/bin/smsbench" ./bench/cmd/smsbench
	git archive "$FILE_STORE_COMMIT" | tar -x -C "$tmp/old"
	if [[ -n ${BASE_COMMIT:-} ]]; then
		mkdir -p "$tmp/base"
		git archive "$BASE_COMMIT" | tar -x -C "$tmp/base"
	fi
)
(cd "$tmp/old" && go build -o "$tmp/bin/gateway-file" ./testdata/gateway)
base=()
if [[ -n ${BASE_COMMIT:-} ]]; then
	(cd "$tmp/base" && go build -o "$tmp/bin/gateway-base" ./testdata/gateway)
	base=(-base-gateway "$tmp/bin/gateway-base")
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --dir "$tmp/redis" --save "" --appendonly yes \
	--appendfsync always --loglevel warning >"$tmp/redis/log" 2>&1 &
redis=$!
for _ in $(seq 100); do
	redis-cli -p "$port" ping >/dev/null 2>&1 && break
	sleep 0.1
done

bench_machine
echo "versions: $(go version | cut -d' ' -f3-), $(redis-server --version | cut -d' ' -f1-3), node-agent $(bench_revision "$root" | tr -d '\n'), file store from $FILE_STORE_COMMIT${BASE_COMMIT:+, sqlite-base from $BASE_COMMIT}"
echo "started: $(date -u +%Y-%m-%dT%H:%M:%SZ)"

"$tmp/bin/smsbench" -agent "$tmp/bin/node-agent" -gateway "$tmp/bin/gateway" -file-gateway "$tmp/bin/gateway-file" \
	-redis "redis://127.0.0.1:$port/0" -work "$work" "${base[@]}" "$@" &
driver=$!
status=0
wait "$driver" || status=$?
driver=
exit "$status"
