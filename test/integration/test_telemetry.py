"""Telemetry: replies stay under DPDK telemetry's 16 KiB limit at the largest
worker count: /mps/workers (a page of slots with the compact counters;
/mps/workers,FIRST the next pages) and /mps/worker,ID (one worker, every
counter). A primary with MPS_MAX_WORKERS slots on net_null (net_tap takes
at most 4 queues in multi-process) and a small pool (the default one for 63
workers wants more hugepages than the test machine has); no worker needs
to run for the replies to have their full size."""
import json
import re
import signal
import socket
import subprocess

import pytest

from mps import BUILD, REPO, TEST_NAME

MAX_WORKERS = int(re.search(r"#define MPS_MAX_WORKERS\s+(\d+)u",
                            (REPO / "common" / "mps_config.h").read_text()).group(1))
REPLY_MAX = 16 * 1024   # DPDK 22.11 telemetry's output buffer


@pytest.fixture(scope="module")
def maxprimary():
    prefix = TEST_NAME + "max"
    p = subprocess.Popen([str(BUILD / "mps-primary"), "--file-prefix", prefix, "--no-pci",
                          "--lcores", "0@0", "--vdev", "net_null0",
                          "--log-level=lib.eal:warning", "--",
                          "--workers", str(MAX_WORKERS), "--mbufs", "16383"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = p.stdout.readline()
        while line and "ready" not in line:
            line = p.stdout.readline()
        assert line, "primary did not start"
        yield prefix
    finally:
        p.send_signal(signal.SIGINT)
        p.wait(30)


def worst_case_len(reply):
    """The reply's length were every number as long as a uint64 can print
    (the counters are small on an idle primary; they are not in service)."""
    nums = re.findall(rb"(?<=[:\[,])-?\d+(?=[,}\]])", reply)
    return len(reply) + sum(20 - len(n) for n in nums)


def raw(prefix, cmd):
    """The reply's bytes, as the telemetry socket sends them."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        s.settimeout(5)
        s.connect(f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2")
        s.recv(4096)
        s.send(cmd.encode())
        return s.recv(1 << 20)
    finally:
        s.close()


def test_replies_fit_at_the_maximum_worker_count(maxprimary):
    slots, first = {}, None
    while True:  # the pages, until the empty one past the last worker
        page = raw(maxprimary, "/mps/workers" if first is None else f"/mps/workers,{first}")
        assert worst_case_len(page) < REPLY_MAX
        page = json.loads(page)["/mps/workers"]
        if not page:
            break
        assert min(map(int, page)) == len(slots)
        slots.update(page)
        first = len(slots)
    assert sorted(slots, key=int) == [str(w) for w in range(MAX_WORKERS)]
    assert all({"pid", "state", "rx_pkts", "tcp_active", "rx_drop"} <= set(v)
               for v in slots.values())
    counters = set(json.loads(raw(maxprimary, "/mps/stats"))["/mps/stats"]) - {
        "workers", "workers_running"}
    for w in (0, MAX_WORKERS - 1):
        one = raw(maxprimary, f"/mps/worker,{w}")
        assert worst_case_len(one) < REPLY_MAX
        d = json.loads(one)["/mps/worker"]
        assert counters <= set(d) and d["state"] == "free"
    # Past the last slot: an error, not another worker's counters.
    assert json.loads(raw(maxprimary, f"/mps/worker,{MAX_WORKERS}"))["/mps/worker"] is None


def test_readme_lists_every_counter(maxprimary):
    """The README's counter table names every counter telemetry shows (the
    drop reasons as rx_drop_<reason>)."""
    readme = (REPO / "README.md").read_text()
    counters = set(json.loads(raw(maxprimary, "/mps/stats"))["/mps/stats"])
    missing = [c for c in counters if f"`{c}`" not in readme and not (
        c.startswith("rx_drop_") and f"`{c[len('rx_drop_'):]}`" in readme)]
    assert not missing, f"README does not list {missing}"
