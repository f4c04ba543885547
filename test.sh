#!/usr/bin/env bash
# Runs every test of the repository with the race detector. Go's ./...
# skips testdata directories, so the reference gateway is named explicitly.
set -euo pipefail
cd "$(dirname "$0")"
# Tools the tests run (they fail under CI=true when missing): tmux for the
# terminal tests, promtool for contrib/, systemd-analyze for node-agent unit.
need=()
command -v tmux >/dev/null || need+=(tmux)
command -v promtool >/dev/null || need+=(prometheus)
command -v systemd-analyze >/dev/null || need+=(systemd)
if ((${#need[@]})); then
	sudo=""; [[ $(id -u) == 0 ]] || sudo=sudo
	$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
go vet ./... ./testdata/gateway/...
go test -race -timeout 15m "$@" ./... ./testdata/gateway/...
