#!/usr/bin/env bash
# hugepages.sh [PAGES]  - make sure PAGES 2 MB hugepages are free for DPDK and
#                         a hugetlbfs is mounted (default 512 = 1 GiB;
#                         env MPS_HUGEPAGES sets the default).
# hugepages.sh --status - print total/free/reserved pages and hugetlbfs mounts.
#
# Only ever raises vm nr_hugepages (never lowers it); counts pages other
# programs already use, so afterwards free (minus reserved) >= PAGES.
# Mounts hugetlbfs on /dev/hugepages when no 2 MB hugetlbfs is mounted.
set -euo pipefail

PROG=hugepages.sh
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
info() { printf '%s: %s\n' "$PROG" "$*"; }

SYS=/sys/kernel/mm/hugepages/hugepages-2048kB
MNT=/dev/hugepages

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }

rd() { local v; v=$(cat "$SYS/$1" 2>/dev/null) || die "cannot read $SYS/$1"; printf '%s' "$v"; }

default_hpsz_kb() { awk '$1 == "Hugepagesize:" { print $2 }' /proc/meminfo; }

# Mount points of hugetlbfs mounts serving 2 MB pages (one per line).
mounts_2m() {
    local def; def=$(default_hpsz_kb)
    awk -v def="$def" '
        $3 == "hugetlbfs" {
            sz = def "k"
            n = split($4, o, ",")
            for (i = 1; i <= n; i++) if (o[i] ~ /^pagesize=/) sz = tolower(substr(o[i], 10))
            if (sz == "2m" || sz == "2048k") print $2
        }' /proc/mounts
}

status() {
    [ -d "$SYS" ] || die "this kernel has no 2 MB hugepages ($SYS missing)"
    local total free resv surp m
    total=$(rd nr_hugepages); free=$(rd free_hugepages)
    resv=$(rd resv_hugepages); surp=$(rd surplus_hugepages)
    printf '2MB hugepages: total %s, free %s, reserved %s, surplus %s, in use %s (%s MiB free)\n' \
        "$total" "$free" "$resv" "$surp" "$((total - free))" "$(((free - resv) * 2))"
    m=$(awk '$3 == "hugetlbfs" { printf "%s%s (%s)", sep, $2, $4; sep = ", " }' /proc/mounts)
    printf 'hugetlbfs mounts: %s\n' "${m:-none}"
    [ -n "$(mounts_2m)" ] || printf 'no hugetlbfs mount serves 2MB pages (run %s as root)\n' "$0"
}

case "${1:-}" in
    --status) [ $# -eq 1 ] || die "usage: $PROG [PAGES] | --status"; status; exit 0 ;;
    -h|--help) usage; exit 0 ;;
esac
[ $# -le 1 ] || die "usage: $PROG [PAGES] | --status"
PAGES=${1:-${MPS_HUGEPAGES:-512}}
case "$PAGES" in
    ''|*[!0-9]*) die "PAGES must be a whole number of 2 MB pages, got '$PAGES'" ;;
esac
PAGES=$((10#$PAGES))

grep -qw hugetlbfs /proc/filesystems ||
    die "this kernel has no hugetlbfs support (not in /proc/filesystems); DPDK needs hugepages (or run EAL with --no-huge)"
[ -d "$SYS" ] ||
    die "this kernel has no 2 MB hugepages ($SYS missing)"

is_root() { [ "$(id -u)" = 0 ]; }

# --- pages ---------------------------------------------------------------
total=$(rd nr_hugepages)
avail=$(( $(rd free_hugepages) - $(rd resv_hugepages) ))
if [ "$avail" -lt "$PAGES" ]; then
    want=$((total + PAGES - avail))
    is_root || die "need $PAGES free 2MB hugepages, have $avail (of $total); must run as root to raise nr_hugepages to $want (sudo $0 $PAGES)"
    if ! echo "$want" >"$SYS/nr_hugepages" 2>/dev/null; then
        die "cannot write $SYS/nr_hugepages (read-only /sys? a container without privileges?); ask the host for $PAGES free 2MB hugepages"
    fi
    total2=$(rd nr_hugepages)
    avail=$(( $(rd free_hugepages) - $(rd resv_hugepages) ))
    if [ "$avail" -lt "$PAGES" ]; then
        # Give back what this run took rather than leave a useless partial raise.
        echo "$total" >"$SYS/nr_hugepages" 2>/dev/null || true
        die "asked the kernel for $want 2MB hugepages, it gave only $total2 ($avail free, need $PAGES; put back to $total): memory is too fragmented or short. Try: sync; echo 3 > /proc/sys/vm/drop_caches; echo 1 > /proc/sys/vm/compact_memory; then run this again (or ask for fewer pages)"
    fi
    info "2MB hugepages raised from $total to $total2 ($avail free)"
fi

# --- mount ---------------------------------------------------------------
if [ -z "$(mounts_2m)" ]; then
    is_root || die "no hugetlbfs mount for 2MB pages; must run as root to mount one on $MNT (sudo $0)"
    mkdir -p "$MNT" || die "cannot create $MNT"
    if mountpoint -q "$MNT" 2>/dev/null; then
        die "$MNT is already a mount point of a non-2MB-hugetlbfs filesystem; mount hugetlbfs (pagesize=2M) elsewhere by hand"
    fi
    mount -t hugetlbfs -o pagesize=2M nodev "$MNT" 2>/dev/null ||
        mount -t hugetlbfs nodev "$MNT" ||
        die "mount -t hugetlbfs nodev $MNT failed (no privilege to mount here?)"
    [ -n "$(mounts_2m)" ] || { umount "$MNT" 2>/dev/null || true; die "mounted hugetlbfs on $MNT but it does not serve 2MB pages (default hugepage size is $(default_hpsz_kb) kB)"; }
    info "mounted hugetlbfs on $MNT"
fi
