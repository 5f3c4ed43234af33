"""The tap path: what a frame through net_tap costs the processes that do
not read it."""

import pathlib
import re

from mps import STACK_IP, scaled

PINGS = 5000


def switches(pid):
    """Times any thread of pid was switched onto a CPU so far (schedstat)."""
    return sum(int(f.read_text().split()[2])
               for f in pathlib.Path(f"/proc/{pid}/task").glob("*/schedstat"))


def test_the_primary_sleeps_while_the_tap_receives(stack):
    """net_tap asks the kernel for a signal to the primary on every frame a
    queue receives; the primary never reads a queue, so the signal only
    woke it (half a CPU under wrk). With it off, the primary's wake-ups do
    not follow the frames."""
    pid = stack.pid("primary")
    before = switches(pid)
    r = stack.exec("ping", "-f", "-q", "-c", str(PINGS), "-W", f"{scaled(2):g}", STACK_IP,
                   timeout=scaled(120))
    m = re.search(r"(\d+) received", r.stdout)
    assert m and int(m.group(1)) == PINGS, r.stdout + r.stderr
    woke = switches(pid) - before
    # The primary's own periodic work wakes it some 10 times a second.
    assert woke < PINGS // 5, f"the primary was switched in {woke} times for {PINGS} frames"
