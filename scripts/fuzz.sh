#!/usr/bin/env bash
# fuzz.sh BINARY SECONDS - runs the RX-path fuzzer for SECONDS (bounded)
# on a scratch corpus seeded from test/fuzz/corpus and pcaps/*.pcap. Exits
# non-zero on any crash, leak, sanitizer report or timeout; a crashing input
# is kept as build/fuzz/crash-*.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:?usage: fuzz.sh BINARY SECONDS}
SECS=${2:-60}
WORK=$(dirname "$BIN")
CORPUS="$WORK/corpus"
mkdir -p "$CORPUS"
cp -n "$REPO"/test/fuzz/corpus/* "$CORPUS"/ 2>/dev/null || true
if compgen -G "$REPO/pcaps/*.pcap" >/dev/null; then
	/usr/bin/python3 "$REPO/test/fuzz/make_seeds.py" --from-pcaps "$CORPUS" "$REPO"/pcaps/*.pcap
fi
echo "fuzz.sh: $(ls "$CORPUS" | wc -l) seeds, ${SECS}s"
# -rss_limit_mb: EAL maps its (non-huge) memory up front.
set +e
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	"$BIN" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=4096 \
	-max_len=4096 -print_final_stats=1 -artifact_prefix="$WORK/" "$CORPUS" \
	>"$WORK/fuzz.log" 2>&1
rc=$?
set -e
grep -v '^#[0-9].*\(NEW\|REDUCE\|pulse\)' "$WORK/fuzz.log" | tail -40
if [ "$rc" -ne 0 ]; then
	echo "fuzz.sh: FAILED (rc=$rc); crashing input: $(ls "$WORK"/crash-* "$WORK"/leak-* "$WORK"/timeout-* 2>/dev/null | head -1)" >&2
	exit 1
fi
echo "fuzz.sh: no crash in ${SECS}s"
