#!/usr/bin/env bash
# run-tests.sh - every test, after the set-up they need (hugepages). Exits
# non-zero if any suite fails; the last line is pytest's summary.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
PY=/usr/bin/python3   # Debian's, with scapy and pytest
failed=()

"$REPO/scripts/hugepages.sh" || exit 1

# Sanitizers: the unit tests run in their ASan+UBSan build, the
# fuzzer runs bounded, and one smoke (echo + HTTP, 2 workers) runs against
# ASan-built primary and secondary. See README "Sanitizers and fuzzing".
export LSAN_OPTIONS="suppressions=$REPO/test/asan/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
echo "== unit tests (common/), ASan + UBSan"
build/asan/unit-tests || failed+=(unit)
echo "== worker API pieces on lwIP without DPDK (RX queue, handles, send queue), ASan + UBSan"
build/asan/api-check || failed+=(api-check)
echo "== lwIP honours a zero window at unchanged SEQ/ACK (RFC 9293 window update patch)"
build/tcp-wnd-check || failed+=(tcp-wnd-check)
echo "== the PCB index finds lwIP's PCB, walks nothing for a segment of no connection, keeps none lwIP freed, ASan + UBSan"
build/asan/pcb-cache-check || failed+=(pcb-cache-check)
echo "== lwIP's tcp_output appends at the unacked tail we keep, through losses and timeouts, ASan + UBSan"
build/asan/tcp-tail-check || failed+=(tcp-tail-check)

echo "== the README's module map matches the code"
"$PY" scripts/module-map.py --check README.md || failed+=(module-map)

echo "== fuzz: RX path for ${FUZZ_SECONDS:-60}s"
scripts/fuzz.sh build/fuzz/fuzz-rx "${FUZZ_SECONDS:-60}" || failed+=(fuzz)

echo "== smoke with ASan-built primary and secondary (echo + HTTP, 2 workers)"
asan_name="${MPS_TEST_NAME:-mpstest}asan"
# Secondaries map the primary's memory at the same addresses; under ASan the
# default spot can be taken (shadow, allocator), so pin it high and clear.
MPS_BUILD="$REPO/build/asan" MPS_TEST_NAME="$asan_name" \
MPS_PRIMARY_EAL_ARGS="--base-virtaddr 0x200000000000" "$PY" -m pytest -q \
	-p no:cacheprovider test/integration/test_stack.py \
	-k "echo_64 or http_keepalive or http_pipelining or both_workers" ||
	failed+=(asan-smoke)
if grep -l "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" \
	"/run/mpstack/$asan_name"/*.log 2>/dev/null; then
	failed+=(asan-report)
fi

echo "== integration tests (netns + tap, primary + 2 workers)"
"$PY" -m pytest -q -p no:cacheprovider test/integration
rc=$?
[ $rc -eq 0 ] || failed+=("integration(rc=$rc)")

if [ ${#failed[@]} -gt 0 ]; then
	echo "run-tests.sh: FAILED: ${failed[*]}" >&2
	exit 1
fi
