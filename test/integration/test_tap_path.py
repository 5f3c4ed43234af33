"""The tap path: what a frame through net_tap costs the processes that do
not read it."""

import pathlib
import re
import subprocess

import pytest

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


def readv_calls(pid, seconds):
    """readv(2) calls by any thread of pid over the next `seconds` (strace)."""
    r = subprocess.run(["timeout", "-s", "INT", f"{seconds:g}",
                        "strace", "-f", "-qq", "-c", "-e", "trace=readv", "-p", str(pid)],
                       capture_output=True, text=True, timeout=seconds + 30)
    # Ran until interrupted; its summary table is empty if it saw none.
    assert r.returncode == 124 and (not r.stderr or "calls" in r.stderr), r
    m = re.search(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?readv$", r.stderr, re.M)
    assert m or "readv" not in r.stderr, r.stderr
    return int(m.group(1)) if m else 0


def test_an_idle_worker_does_not_read_its_empty_queue(stack):
    """net_tap's RX burst is a readv(2) per frame plus one that finds the
    queue empty. A worker backing off used to read every queue at every
    wake-up (hundreds of empty readv a second); now it sleeps on the
    queue's file and does not read it while nothing comes. Right after any
    work (a frame, a timer's segment) it still reads while it spins, so a
    window counts only if the worker had no work in it."""
    window = scaled(2)
    for w in ("0", "1"):
        pid = stack.pid(f"worker-{w}")
        for _ in range(5):
            before = stack.workers_info()[w]
            n = readv_calls(pid, window)
            after = stack.workers_info()[w]
            if after["busy_iterations"] == before["busy_iterations"]:
                break
        else:
            pytest.fail(f"worker {w} had work in each of 5 windows of {window:g} s")
        assert after["idle_sleeps"] > before["idle_sleeps"], "the worker did not sleep"
        assert n == 0, f"worker {w}: {n} readv in {window:g} s without any work"
    # And it still wakes for a frame.
    r = stack.exec("ping", "-c", "3", "-i", "0.2", "-W", f"{scaled(2):g}", STACK_IP)
    assert r.returncode == 0, r.stdout + r.stderr
