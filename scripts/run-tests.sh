#!/usr/bin/env bash
# run-tests.sh - every test, after the set-up they need (hugepages). Exits
# non-zero if any suite fails; the last line is pytest's summary.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
PY=/usr/bin/python3   # Debian's, with scapy and pytest
failed=()

"$REPO/scripts/hugepages.sh" || exit 1

echo "== unit tests (common/)"
build/unit-tests || failed+=(unit)

echo "== integration tests (netns + tap, primary + 2 workers)"
"$PY" -m pytest -q -p no:cacheprovider test/integration
rc=$?
[ $rc -eq 0 ] || failed+=("integration(rc=$rc)")

if [ ${#failed[@]} -gt 0 ]; then
	echo "run-tests.sh: FAILED: ${failed[*]}" >&2
	exit 1
fi
