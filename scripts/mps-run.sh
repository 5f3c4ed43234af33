#!/usr/bin/env bash
# mps-run.sh - start and stop mpstack on the default topology.
#
#   mps-run.sh start N       netns + primary (tap inside it) + N workers, in
#                            the background; returns when all are ready
#   mps-run.sh worker ID     start (or restart) worker ID
#   mps-run.sh restart [K|all]  replace worker K (default all, one after the
#                            other) by a new process without failing a
#                            request: --replace, then wait for the old one
#                            to drain and exit (MPS_DRAIN_TIMEOUT, 30 s)
#   mps-run.sh primary N     netns + primary with N worker slots, no worker
#   mps-run.sh stop          SIGINT the primary, wait, clean up everything
#   mps-run.sh foreground N  start, wait for Ctrl-C, stop
#   mps-run.sh check         exit 0 if a primary runs for MPS_PREFIX, else
#                            say so (and how to start one) in one line, exit 1
#
# Environment (defaults): MPS_NS=mpstack MPS_PREFIX=mpstack MPS_IFACE=mps0
# MPS_PEER_IP=198.18.0.1/24 MPS_PRIMARY_ARGS="" (extra app options, e.g.
# "--listen 7:echo --stats 2") MPS_BUILD=build MPS_PRIMARY_EAL_ARGS=""
# (extra EAL options for the primary, e.g. --base-virtaddr for ASan builds or
# "--vdev net_tap1,iface=mps1" for a second port), MPS_TEST_TIME_SCALE=1
# (multiplies every wait's bound). State (pids, logs) lives in
# /run/mpstack/$MPS_PREFIX. Only the pids recorded there are ever signalled.
set -euo pipefail

PROG=mps-run.sh
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NS=${MPS_NS:-mpstack}
PREFIX=${MPS_PREFIX:-mpstack}
IFACE=${MPS_IFACE:-mps0}
PEER_IP=${MPS_PEER_IP:-198.18.0.1/24}
BUILD=${MPS_BUILD:-$REPO/build}
STATE=/run/mpstack/$PREFIX
HUGEDIR=${MPS_HUGEDIR:-/dev/hugepages}
NCPU=$(nproc)
# Worker ID runs on EAL lcore ID+1, its successor (restart) on ID+1+MAX: the
# plan of common/mps_config.h (MPS_WORKER_LCORE, MPS_SUCCESSOR_LCORE).
MAX_WORKERS=$(sed -n 's/^#define MPS_MAX_WORKERS *\([0-9]*\)u.*/\1/p' \
	"$REPO/common/mps_config.h")
MAX_WORKERS=${MAX_WORKERS:-63}

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
info() { printf '%s: %s\n' "$PROG" "$*"; }

# alive PID: running and not a zombie (a killed process whose parent does
# not reap it still answers kill -0).
alive() {
	[ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ "$st" != Z ] && [ "$st" != X ]
}
not_alive() { ! alive "$1"; }

# wait_for SECONDS CMD... : polls CMD every 50 ms until it succeeds; the
# bound is scaled by MPS_TEST_TIME_SCALE (the test suite's stress mode).
wait_for() {
	local deadline
	deadline=$((SECONDS + $(awk -v t="$1" -v s="${MPS_TEST_TIME_SCALE:-1}" \
		'BEGIN { printf "%d", t * s + 0.999 }'))); shift
	until "$@"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.05
	done
}

log_has() { grep -q "$2" "$1" 2>/dev/null; }

start_primary() {
	local n=$1
	[ "$(id -u)" -eq 0 ] || die "must run as root"
	[ -x "$BUILD/mps-primary" ] || die "$BUILD/mps-primary missing: run make"
	if [ -f "$STATE/primary.pid" ] && alive "$(cat "$STATE/primary.pid")"; then
		die "already running (pid $(cat "$STATE/primary.pid")); run: $PROG stop"
	fi
	"$REPO/scripts/hugepages.sh" >/dev/null
	mkdir -p "$STATE"
	rm -f "$STATE"/*.pid "$STATE"/*.log
	if ! ip netns list | grep -qx "$NS\( .*\)\?"; then
		ip netns add "$NS"
		touch "$STATE/netns.created"
	fi
	ip netns exec "$NS" ip link set lo up
	ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 >/dev/null
	# shellcheck disable=SC2086
	ip netns exec "$NS" "$BUILD/mps-primary" --file-prefix "$PREFIX" \
		--no-pci --lcores 0@0 --vdev "net_tap0,iface=$IFACE" \
		--log-level=lib.eal:warning ${MPS_PRIMARY_EAL_ARGS:-} \
		-- --workers "$n" ${MPS_PRIMARY_ARGS:-} \
		>"$STATE/primary.log" 2>&1 &
	echo $! >"$STATE/primary.pid"
	if ! wait_for 30 log_has "$STATE/primary.log" "mps-primary: ready"; then
		cat "$STATE/primary.log" >&2
		alive "$(cat "$STATE/primary.pid")" || rm -f "$STATE/primary.pid"
		die "primary did not become ready (log above)"
	fi
	ip netns exec "$NS" ip addr replace "$PEER_IP" dev "$IFACE"
	ip netns exec "$NS" ip link set "$IFACE" up
}

# start_worker ID [LCORE [APP_ARGS...]]: worker ID on EAL lcore LCORE
# (default ID+1), pinned round-robin on CPUs.
start_worker() {
	local id=$1 lcore=${2:-$(($1 + 1))} log="$STATE/worker-$1.log"
	shift $(($# < 2 ? $# : 2))
	: >"$log"
	ip netns exec "$NS" "$BUILD/mps-secondary" --file-prefix "$PREFIX" \
		--no-pci --no-telemetry --lcores "$lcore@$((lcore % NCPU))" \
		--log-level=lib.eal:warning -- --worker "$id" "$@" >>"$log" 2>&1 &
	echo $! >"$STATE/worker-$id.pid"
	echo "$lcore" >"$STATE/worker-$id.lcore"
	if ! wait_for 20 log_has "$log" "worker $id ready"; then
		cat "$log" >&2
		die "worker $id did not become ready (log above)"
	fi
}

# replace_worker ID: a successor on the other of the slot's two lcore ids
# (ID+1, ID+1+MAX_WORKERS: two live processes never share one) takes over; the old
# process drains and exits. Its log moves to worker-ID.old.log.
replace_worker() {
	local id=$1 old lcore drain=${MPS_DRAIN_TIMEOUT:-30}
	old=$(cat "$STATE/worker-$id.pid" 2>/dev/null) || old=
	alive "$old" || die "worker $id is not running: start it with '$PROG worker $id'"
	lcore=$(cat "$STATE/worker-$id.lcore" 2>/dev/null) || lcore=$((id + 1))
	if [ "$lcore" = $((id + 1)) ]; then lcore=$((id + 1 + MAX_WORKERS)); else lcore=$((id + 1)); fi
	mv "$STATE/worker-$id.log" "$STATE/worker-$id.old.log"
	echo "$old" >"$STATE/worker-$id.draining.pid"
	if ! (start_worker "$id" "$lcore" --replace --drain-timeout "$drain"); then
		echo "$old" >"$STATE/worker-$id.pid"
		rm -f "$STATE/worker-$id.draining.pid"
		die "worker $id was not replaced; pid $old keeps serving"
	fi
	info "worker $id: pid $(cat "$STATE/worker-$id.pid") took over from pid $old; waiting for it to drain"
	wait_for "$((drain + 10))" not_alive "$old" ||
		die "worker $id: old pid $old still running after the drain timeout"
	rm -f "$STATE/worker-$id.draining.pid"
	info "worker $id: pid $old drained and exited"
}

# stop: SIGINT the primary (it stops the workers), then make sure.
stop_all() {
	local pid f
	if [ -f "$STATE/primary.pid" ]; then
		pid=$(cat "$STATE/primary.pid")
		if alive "$pid"; then
			kill -INT "$pid"
			wait_for 10 not_alive "$pid" ||
				{ info "primary $pid did not stop; killing"; kill -KILL "$pid" 2>/dev/null || true; }
		fi
	fi
	for f in "$STATE"/worker-*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		if alive "$pid"; then
			kill -TERM "$pid" 2>/dev/null || true
			wait_for 5 not_alive "$pid" || kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	if [ -f "$STATE/netns.created" ]; then
		ip netns del "$NS" 2>/dev/null || true
	fi
	rm -rf "/var/run/dpdk/$PREFIX"
	rm -f "$HUGEDIR/${PREFIX}map_"* 2>/dev/null || true
	rm -f "$STATE"/*.pid "$STATE/netns.created"
}

# check: a primary of ours runs for this prefix (its telemetry socket is
# there too, so tools can talk to it).
check_running() {
	local pid
	pid=$(cat "$STATE/primary.pid" 2>/dev/null) || pid=
	if alive "$pid" && [ -S "/var/run/dpdk/$PREFIX/dpdk_telemetry.v2" ]; then
		return 0
	fi
	printf '%s: no mpstack running in netns %s (--file-prefix %s): start one with `make run` or `%s start 2`\n' \
		"$PROG" "$NS" "$PREFIX" "scripts/mps-run.sh" >&2
	return 1
}

case "${1:-}" in
check)
	check_running
	;;
start)
	n=${2:-2}
	start_primary "$n"
	for ((i = 0; i < n; i++)); do start_worker "$i"; done
	info "running: $n worker(s) in netns $NS, stack 198.18.0.2, logs in $STATE"
	;;
primary)
	start_primary "${2:-2}"
	info "primary running with ${2:-2} slot(s), no worker yet; logs in $STATE"
	;;
worker)
	[ -n "${2:-}" ] || die "usage: $PROG worker ID"
	start_worker "$2"
	;;
restart)
	if [ "${2:-all}" = all ]; then
		for f in "$STATE"/worker-*.pid; do
			id=${f##*/worker-}
			id=${id%.pid}
			case $id in *[!0-9]*) continue ;; esac
			replace_worker "$id"
		done
	else
		replace_worker "$2"
	fi
	;;
stop)
	stop_all
	;;
foreground)
	n=${2:-2}
	trap 'stop_all; exit 0' INT TERM
	start_primary "$n"
	for ((i = 0; i < n; i++)); do start_worker "$i"; done
	info "running: $n worker(s); try: ip netns exec $NS curl http://198.18.0.2/ ; Ctrl-C stops"
	tail -n +1 -f "$STATE/primary.log" &
	wait "$(cat "$STATE/primary.pid")" || true
	kill %1 2>/dev/null || true
	stop_all
	;;
*)
	sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
