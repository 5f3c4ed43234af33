#!/usr/bin/env bash
# fetch-lwip.sh [DEST] - make lwIP 2.1.x source available to the build.
#
#   LWIP_SRC=/path  use that tree (must contain src/core/tcp.c); print its path.
#   DEST            default <repo>/third_party/lwip (git-ignored). Nothing is
#                   done when DEST/src/core/tcp.c already exists.
#
# Otherwise the source is taken from Debian's `lwip` source package with a
# PRIVATE apt configuration under <repo>/third_party/.apt/: its deb-src
# entries are derived from the system's enabled `deb` entries, and its lists,
# cache and lock live there, so /etc/apt, /var/lib/apt/lists and the system
# apt lock are never touched (root is not needed). Needs apt-get and
# dpkg-source (package dpkg-dev) and xz-utils.
set -euo pipefail

PROG=fetch-lwip.sh
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
info() { printf '%s: %s\n' "$PROG" "$*"; }

[ $# -le 1 ] || die "usage: $PROG [DEST]"
case "${1:-}" in -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0;; esac

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST=${1:-$REPO/third_party/lwip}
case "$DEST" in /*) ;; *) DEST=$PWD/$DEST ;; esac
DEST=${DEST%/}

# lwip_version DIR -> prints "MAJOR.MINOR.REVISION" from src/include/lwip/init.h
lwip_version() {
    local h=$1/src/include/lwip/init.h
    [ -f "$h" ] || return 1
    awk '
        $1 == "#define" && $2 == "LWIP_VERSION_MAJOR"    { ma = $3 }
        $1 == "#define" && $2 == "LWIP_VERSION_MINOR"    { mi = $3 }
        $1 == "#define" && $2 == "LWIP_VERSION_REVISION" { re = $3 }
        END { if (ma == "" || mi == "") exit 1
              printf "%d.%d.%d\n", ma, mi, re }' "$h"
}
is_21() { case "$1" in 2.1.*) return 0 ;; *) return 1 ;; esac; }

# --- 1. explicit override ---------------------------------------------------
if [ -n "${LWIP_SRC:-}" ]; then
    [ -f "$LWIP_SRC/src/core/tcp.c" ] ||
        die "LWIP_SRC=$LWIP_SRC has no src/core/tcp.c (point it at an lwIP 2.1.x source tree, or unset it)"
    src=$(cd "$LWIP_SRC" && pwd)
    v=$(lwip_version "$src" || true)
    is_21 "${v:-}" || warn "LWIP_SRC=$src is lwIP ${v:-(unknown version)}, not 2.1.x; the build may fail"
    printf '%s\n' "$src"
    exit 0
fi

# --- 2. already there -------------------------------------------------------
[ -f "$DEST/src/core/tcp.c" ] && exit 0

# --- 3. fetch from Debian's source package ---------------------------------
command -v apt-get >/dev/null || die "apt-get not found: this needs a Debian system (or set LWIP_SRC=/path/to/lwip-2.1.x)"
command -v dpkg-source >/dev/null || die "dpkg-source not found: install dpkg-dev (run scripts/deps.sh as root)"
command -v xz >/dev/null || die "xz not found: install xz-utils (run scripts/deps.sh as root)"
command -v flock >/dev/null || die "flock not found: install util-linux"

PRIV=$REPO/third_party/.apt
mkdir -p "$REPO/third_party" || die "cannot create $REPO/third_party"
exec 9>"$REPO/third_party/.apt.lock" || die "cannot write $REPO/third_party/.apt.lock"
flock 9 || die "cannot lock $REPO/third_party/.apt.lock"
# Another run may have finished while we waited for the lock.
[ -f "$DEST/src/core/tcp.c" ] && exit 0

if [ -e "$DEST" ]; then
    if [ -d "$DEST" ] && [ -z "$(ls -A "$DEST")" ]; then
        rmdir "$DEST"
    else
        die "$DEST exists but holds no src/core/tcp.c; remove it and run again"
    fi
fi

rm -rf "$PRIV"
mkdir -p "$PRIV/apt.conf.d" "$PRIV/sources.list.d" "$PRIV/lists/partial" \
         "$PRIV/cache/archives/partial" "$PRIV/work"

# Where the system keeps its apt configuration (normally /etc/apt/...).
SYS_SOURCELIST=/etc/apt/sources.list
SYS_SOURCEPARTS=/etc/apt/sources.list.d
SYS_PARTS=/etc/apt/apt.conf.d
SYS_MAIN=/etc/apt/apt.conf
eval "$(apt-config shell SYS_SOURCELIST Dir::Etc::sourcelist/f SYS_SOURCEPARTS Dir::Etc::sourceparts/d \
                          SYS_PARTS Dir::Etc::parts/d SYS_MAIN Dir::Etc::main/f 2>/dev/null)" || true
SYS_SOURCEPARTS=${SYS_SOURCEPARTS%/}
SYS_PARTS=${SYS_PARTS%/}

# Private apt configuration. APT_CONFIG is read first, so it can point apt at
# our own parts directory: a copy of the system's settings (proxies, keys,
# validity checks) followed by our overrides, which drop the system's hooks
# (they act on system state) and move every writable path into $PRIV.
cat >"$PRIV/apt.conf" <<EOF
Dir::Etc::parts "$PRIV/apt.conf.d/";
Dir::Etc::main "$PRIV/empty.conf";
EOF
: >"$PRIV/empty.conf"
if [ -f "$SYS_MAIN" ]; then cp "$SYS_MAIN" "$PRIV/apt.conf.d/00system-apt.conf"; fi
if [ -d "$SYS_PARTS" ]; then
    for f in "$SYS_PARTS"/*; do
        [ -f "$f" ] || continue
        cp "$f" "$PRIV/apt.conf.d/" 2>/dev/null || true
    done
fi
cat >"$PRIV/apt.conf.d/zzzz-mpstack-private" <<EOF
#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
#clear DPkg::Pre-Invoke;
#clear DPkg::Post-Invoke;
#clear DPkg::Pre-Install-Pkgs;
Dir::Etc::sourcelist "$PRIV/sources.list";
Dir::Etc::sourceparts "$PRIV/sources.list.d/";
Dir::State::lists "$PRIV/lists/";
Dir::Cache "$PRIV/cache/";
Dir::Cache::archives "$PRIV/cache/archives/";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Debug::NoLocking "true";
APT::Get::Assume-Yes "true";
Acquire::Languages "none";
EOF
: >"$PRIV/sources.list"

# deb-src entries derived from the system's enabled deb entries.
oneline=()
deb822=()
[ -f "$SYS_SOURCELIST" ] && oneline+=("$SYS_SOURCELIST")
if [ -d "$SYS_SOURCEPARTS" ]; then
    for f in "$SYS_SOURCEPARTS"/*.list; do [ -f "$f" ] && oneline+=("$f"); done
    for f in "$SYS_SOURCEPARTS"/*.sources; do [ -f "$f" ] && deb822+=("$f"); done
fi
skip_disabled() { local f; for f in "$@"; do case "${f##*/}" in *.disabled*) ;; *) printf '%s\n' "$f" ;; esac; done; }

if [ ${#oneline[@]} -gt 0 ]; then
    skip_disabled "${oneline[@]}" | while IFS= read -r f; do
        # "deb [opts] URI SUITE [COMP...]" -> "deb-src ..." (comments dropped)
        sed -e 's/#.*$//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$f" |
            awk '$1 == "deb" { $1 = "deb-src"; print }'
    done | sort -u >"$PRIV/sources.list.d/mpstack-src.list"
fi
if [ ${#deb822[@]} -gt 0 ]; then
    skip_disabled "${deb822[@]}" | while IFS= read -r f; do
        # Keep every stanza whose Types has "deb" and is not Enabled: no;
        # rewrite Types to deb-src and copy the other fields (continuation
        # lines such as an inline Signed-By key included) unchanged.
        awk '
            function flush(   i, t, n, w, hasdeb) {
                if (nf == 0) return
                hasdeb = 0
                n = split(types, w, /[ \t]+/)
                for (i = 1; i <= n; i++) if (w[i] == "deb") hasdeb = 1
                if (hasdeb && tolower(enabled) != "no") {
                    print "Types: deb-src"
                    for (i = 1; i <= nf; i++) print body[i]
                    print ""
                }
                nf = 0; types = ""; enabled = ""
            }
            /^#/ { next }
            /^[ \t]*$/ { flush(); cur = ""; next }
            /^[ \t]/ { if (cur == "keep") body[nf] = body[nf] "\n" $0; next }
            {
                name = tolower(substr($0, 1, index($0, ":") - 1))
                val = substr($0, index($0, ":") + 1)
                gsub(/^[ \t]+|[ \t]+$/, "", val)
                if (name == "types") { types = val; cur = "drop"; next }
                if (name == "enabled") { enabled = val; cur = "drop"; next }
                body[++nf] = $0; cur = "keep"
            }
            END { flush() }' "$f"
    done >"$PRIV/sources.list.d/mpstack-src.sources"
fi
if [ ! -s "$PRIV/sources.list.d/mpstack-src.list" ] && [ ! -s "$PRIV/sources.list.d/mpstack-src.sources" ]; then
    die "no enabled 'deb' entries found in $SYS_SOURCELIST or $SYS_SOURCEPARTS/*.{list,sources}: cannot derive deb-src entries (or set LWIP_SRC=/path/to/lwip-2.1.x)"
fi
for f in "$PRIV/sources.list.d"/*; do [ -s "$f" ] || rm -f "$f"; done

export APT_CONFIG=$PRIV/apt.conf
export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C
# As root apt downloads as the unprivileged _apt user: let it write there.
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
    chown -R _apt "$PRIV/lists" "$PRIV/cache" "$PRIV/work" 2>/dev/null || true
fi

info "fetching Debian's lwip source package (private apt setup in ${PRIV#"$REPO"/})"
if ! apt-get -q update >"$PRIV/update.log" 2>&1; then
    warn "apt-get update (private lists) reported errors; see $PRIV/update.log"
fi

# Newest 2.1.x version of the lwip source package the archive has.
ver=$(apt-cache showsrc --only-source lwip 2>/dev/null |
      awk '/^Version:/ { print $2 }' | grep -E '^([0-9]+:)?2\.1\.' | sort -V | tail -n 1 || true)
if [ -z "$ver" ]; then
    tail -n 20 "$PRIV/update.log" >&2 || true
    die "no lwip 2.1.x source package found in the archives of this system's apt sources (log: $PRIV/update.log); or set LWIP_SRC=/path/to/lwip-2.1.x"
fi

if ! (cd "$PRIV/work" && apt-get -q source --only-source "lwip=$ver") >"$PRIV/source.log" 2>&1; then
    tail -n 20 "$PRIV/source.log" >&2 || true
    die "apt-get source lwip=$ver failed (log: $PRIV/source.log)"
fi

tree=
for d in "$PRIV/work"/*/; do
    [ -f "$d/src/core/tcp.c" ] && { tree=${d%/}; break; }
done
[ -n "$tree" ] || die "unpacked lwip=$ver but found no */src/core/tcp.c under $PRIV/work (log: $PRIV/source.log)"
v=$(lwip_version "$tree" || true)
is_21 "${v:-}" || die "Debian's lwip=$ver unpacked as lwIP ${v:-(unknown version)}, expected 2.1.x"

printf 'lwIP %s from Debian source package lwip %s\n' "$v" "$ver" >"$tree/.mpstack-origin"
mkdir -p "$(dirname "$DEST")"
mv "$tree" "$DEST" || die "cannot move $tree to $DEST"
rm -rf "$PRIV"
info "lwIP $v (Debian source package lwip $ver) is in $DEST"
