# Shell functions shared by bench/run.sh and bench/reload/run.sh: the pinned
# PM2, the machine line, and the clean-up of a driver and of a PM2 daemon.
# Source it; it sets PM2_VERSION, pm2dir and pm2.

PM2_VERSION=7.0.4
bench_cache=${NODE_AGENT_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/node-agent-bench}
pm2dir=$bench_cache/pm2-$PM2_VERSION
pm2=$pm2dir/node_modules/.bin/pm2

# bench_install_pm2 installs PM2 $PM2_VERSION into the cache unless it is
# there, and sets pm2v to its version.
bench_install_pm2() {
	if [[ ! -x $pm2 ]]; then
		echo "${0##*/}: installing pm2@$PM2_VERSION into $pm2dir" >&2
		mkdir -p "$pm2dir"
		npm install --prefix "$pm2dir" --no-audit --no-fund --loglevel=error "pm2@$PM2_VERSION" >&2
	fi
	# Not "pm2 --version": that starts a daemon in ~/.pm2.
	pm2v=$(node -p "require('$pm2dir/node_modules/pm2/package.json').version")
}

# bench_machine prints the machine line.
bench_machine() {
	echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# bench_revision ROOT prints the short commit of ROOT, +dirty when files
# outside bench/ and BENCHMARKS.md differ from it.
bench_revision() {
	(cd "$1" && git rev-parse --short HEAD 2>/dev/null || echo '?')
	(cd "$1" && [[ -n $(git --no-optional-locks status --porcelain -- . ':!bench' ':!BENCHMARKS.md' 2>/dev/null) ]] && echo '+dirty') || true
}

# bench_stop_driver PID sends the driver SIGTERM (it stops what it started),
# gives it 40 s, then SIGKILLs it.
bench_stop_driver() {
	local i
	kill -TERM "$1" 2>/dev/null || true
	for ((i = 0; i < 400; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# bench_kill_pm2 HOME stops a PM2 daemon left behind in PM2_HOME=HOME (the
# driver was SIGKILLed) and its workers.
bench_kill_pm2() {
	local pidf=$1/pm2.pid god kids
	[[ -f $pidf ]] || return 0
	god=$(cat "$pidf" 2>/dev/null || true)
	if [[ -n $god ]] && kill -0 "$god" 2>/dev/null; then
		kids=$(pgrep -P "$god" || true)
		PM2_HOME=$1 timeout 20 "$pm2" kill >/dev/null 2>&1 || true
		kill -KILL "$god" $kids 2>/dev/null || true
	fi
}

# bench_cleanup is the EXIT trap of a run script whose variables are tmp
# (its temporary directory), work ($tmp/work, holding pm2-home) and driver
# (the driver's pid while it runs): it stops the driver and any PM2 daemon
# left behind, and removes tmp, keeping the logs in $tmp/logs on failure.
bench_cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [[ -n ${driver:-} ]]; then
		bench_stop_driver "$driver"
	fi
	bench_kill_pm2 "$work/pm2-home"
	if [[ $rc -ne 0 && -d $work ]]; then
		echo "${0##*/}: logs kept in $tmp/logs" >&2
		mkdir -p "$tmp/logs"
		cp "$work"/*.log "$tmp/logs/" 2>/dev/null || true
		cp -r "$work/pm2-home/logs" "$tmp/logs/pm2" 2>/dev/null || true
		rm -rf "$work" "$tmp/bin"
	else
		rm -rf "$tmp"
	fi
	exit "$rc"
}

# bench_traps installs bench_cleanup for exit, Ctrl-C, SIGTERM and SIGHUP.
bench_traps() {
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}
