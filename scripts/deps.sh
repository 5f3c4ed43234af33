#!/usr/bin/env bash
# deps.sh - install what mpstack needs from Debian's archive (as root), then
# make sure lwIP's source is there (scripts/fetch-lwip.sh).
# Only missing packages are installed; `apt-get update` runs only then.
# `deps.sh bench` also installs what make bench compares against
# (nginx-light; wrk and iperf come with the tests), without letting the
# packages start their services.
# Env: APT_LOCK_TIMEOUT (seconds to wait for another apt/dpkg, default 600).
set -euo pipefail

PROG=deps.sh
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
info() { printf '%s: %s\n' "$PROG" "$*"; }

BENCH=0
case "${1:-}" in
    "") ;;
    bench) BENCH=1 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "usage: $PROG [bench]" ;;
esac

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

PACKAGES=(
    libdpdk-dev dpdk dpdk-dev   # DPDK 22.11: headers/libs, tools (dpdk-proc-info, dpdk-telemetry.py, ...)
    pkg-config                  # pkg-config libdpdk
    gcc make clang              # build; clang for the fuzz target
    libclang-rt-14-dev          # libFuzzer and sanitizer runtimes for clang 14
    python3-pyelftools          # dpdk-pmdinfo.py (only a Recommends of dpdk)
    python3-scapy python3-pytest  # pcaps and integration tests
    tshark                      # reads mps-capture pcapng files (tests)
    curl iproute2 iputils-ping procps  # test clients, netns/tap topology
    strace                      # counts a worker's reads of its queue (tests)
    wrk apache2-utils           # HTTP clients the HTTP app is tested against (wrk, ab)
    util-linux                  # setpriv (the not-root test)
    iperf                       # the iperf app's test and make bench
    tcpdump                     # scapy compiles capture filters with it
    xz-utils dpkg-dev           # fetch-lwip.sh: unpack Debian's lwip source package
)

installed() {
    local st
    st=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
    [ "${st##* }" = installed ]
}

[ "$(id -u)" = 0 ] || die "must run as root (it installs Debian packages): sudo $0"
command -v dpkg-query >/dev/null || die "dpkg-query not found: this script needs Debian (12, bookworm)"

# make bench: the kernel-stack side of the comparison.
[ $BENCH -eq 0 ] || PACKAGES+=(nginx-light)

missing=()
for p in "${PACKAGES[@]}"; do
    installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    lock=(-o "DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT:-600}")
    info "installing: ${missing[*]}"
    log=$(mktemp "${TMPDIR:-/tmp}/mps-deps.XXXXXX")
    trap 'rm -f "$log"' EXIT
    if ! apt-get "${lock[@]}" -q update >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        die "apt-get update failed"
    fi
    # nginx must not start serving on the host: Debian's policy-rc.d hook
    # stops maintainer scripts from starting services (only if none exists).
    if [ $BENCH -eq 1 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f "$log" /usr/sbin/policy-rc.d' EXIT
    fi
    if ! apt-get "${lock[@]}" -q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            install "${missing[@]}" >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        die "apt-get install failed for: ${missing[*]}"
    fi
    still=()
    for p in "${missing[@]}"; do installed "$p" || still+=("$p"); done
    [ ${#still[@]} -eq 0 ] || die "still not installed after apt-get install: ${still[*]}"
    info "installed ${#missing[@]} package(s)"
fi

"$HERE/fetch-lwip.sh"
