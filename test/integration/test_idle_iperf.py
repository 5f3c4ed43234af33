"""Idle strategies (--idle) and the iperf app (lwiperf)."""

import shutil
import subprocess

from mps import (BUILD, STACK_IP, TEST_NAME, Stack, scaled, stop_in_order, telemetry,
                 wait_until)


def test_iperf_app(stack):
    r = stack.exec("iperf", "-c", STACK_IP, "-p", "5001", "-t", "1", "-f", "m",
                   "-y", "C", timeout=scaled(60))
    assert r.returncode == 0, r.stderr
    rows = [l.split(",") for l in r.stdout.strip().splitlines() if l.count(",") >= 8]
    assert rows, r.stdout + r.stderr
    assert int(rows[-1][7]) > 1 << 20, "iperf moved less than 1 MiB"  # bytes
    assert int(rows[-1][8]) > 0                                        # bits/s


def _sleeps(s):
    return s.workers_info()["0"]["idle_sleeps"]


def test_idle_spin_never_sleeps_intr_falls_back():
    spin = Stack(TEST_NAME + "spin", workers=1, primary_args="--idle spin")
    spin.stop()
    spin.start()
    try:
        it0 = spin.workers_info()["0"]["iterations"]
        wait_until(lambda: spin.workers_info()["0"]["iterations"] > it0 + 100000, 20,
                   "the spinning worker to iterate")
        assert _sleeps(spin) == 0
        r = spin.exec("curl", "-s", "-m", f"{scaled(5):g}", f"http://{STACK_IP}/")
        assert r.stdout == "Hello from mpstack\n"
    finally:
        spin.stop()

    intr = Stack(TEST_NAME + "intr", workers=1, primary_args="--idle intr")
    intr.stop()
    intr.start()
    try:
        # net_tap has no RX interrupt handle in a secondary: the worker says
        # so and idles with back-off instead (it still serves).
        wait_until(lambda: "RX interrupts unavailable" in intr.log("worker-0"), 10,
                   "the worker to report the interrupt fallback")
        wait_until(lambda: _sleeps(intr) > 0, 10, "the worker to back off")
        r = intr.exec("curl", "-s", "-m", f"{scaled(5):g}", f"http://{STACK_IP}/")
        assert r.stdout == "Hello from mpstack\n"
    finally:
        intr.stop()


def test_idle_backoff_sleeps(stack):
    before = stack.workers_info()
    wait_until(lambda: all(stack.workers_info()[w]["idle_sleeps"] > before[w]["idle_sleeps"] + 10
                           for w in before), 10, "idle workers to sleep")


def test_idle_backoff_sleeps_while_the_port_cannot_send(tmp_path):
    """A port that takes no frame (a net_memif without its peer: its TX
    burst sends nothing) leaves the worker's TX batch non-empty; the worker
    retries it on each iteration, but backs off like an idle one instead of
    spinning on it."""
    prefix = TEST_NAME + "stuck"
    sock = tmp_path / "memif.sock"
    eal = ["--file-prefix", prefix, "--no-pci", "--log-level=lib.eal:error"]
    primary = subprocess.Popen(
        [str(BUILD / "mps-primary"), *eal, "--lcores", "0@0", "--vdev",
         f"net_memif0,role=server,socket={sock},socket-abstract=no",
         "--", "--workers", "1", "--ip", "198.18.2.2/24"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    worker = None
    try:
        wait_until(lambda: "ready" in primary.stdout.readline(), 30, "the primary to start")
        worker = subprocess.Popen([str(BUILD / "mps-secondary"), *eal, "--no-telemetry",
                                   "--lcores", "1@1", "--", "--worker", "0"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

        def w0():
            return telemetry(prefix, "/mps/worker", 0) or {}
        wait_until(lambda: w0().get("tx_queued", 0) > 0, 30,
                   "the worker to hold frames the port does not take (its announcement)")
        base = w0()
        wait_until(lambda: w0()["idle_sleeps"] >= base["idle_sleeps"] + 50, 20,
                   "the worker to sleep while its TX batch waits")
        after = w0()
        assert after["tx_queued"] > 0 and after["tx_pkts"] == base["tx_pkts"], after
    finally:
        stop_in_order([[worker], [primary]])
        shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)
        shutil.rmtree(f"/run/mpstack/{prefix}", ignore_errors=True)
