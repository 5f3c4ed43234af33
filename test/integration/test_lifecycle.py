"""Worker crash and restart on the same slot; a clean stop leaves nothing."""
import os
import pathlib
import signal
import subprocess

from mps import (TEST_NAME, Stack, hugepages_back_to, hugepages_used_by, pid_alive, scaled,
                 wait_until)


def test_killed_worker_restarts_on_same_slot(stack):
    victim = stack.pid("worker-1")
    restarts = stack.workers_info()["1"]["restarts"]
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: stack.workers_info()["1"]["state"] == "dead", 2,
               "the primary to mark worker 1 dead")
    # (the primary logs the death after it marks the slot)
    wait_until(lambda: "worker 1 (pid %d) died" % victim in stack.log("primary"), 2,
               "the primary to log worker 1's death")

    stack.start_worker(1)
    # (its "ready" line, which start_worker waits for, comes before the
    # worker is RUNNING)
    info = wait_until(lambda: (lambda w: w["state"] == "running" and w)(
        stack.workers_info()["1"]), 5, "the restarted worker 1 to be running")
    assert info["pid"] == stack.pid("worker-1") != victim
    assert info["restarts"] == restarts + 1
    before = info["tcp_accepted"]

    def served_by_1():
        for _ in range(8):
            s = stack.connect(7)
            s.sendall(b"ping")
            got = b""
            while len(got) < 4:
                got += s.recv(4)
            assert got == b"ping"
            s.close()
        return stack.workers_info()["1"]["tcp_accepted"] > before
    wait_until(served_by_1, 20, "the restarted worker 1 to accept connections")


def _hugepage_files(prefix):
    return list(pathlib.Path("/dev/hugepages").glob(f"{prefix}map_*"))


def test_clean_stop_leaves_nothing():
    s = Stack(TEST_NAME + "stop", workers=2)
    s.stop()
    # (a global count moves with other suites' stacks: leave theirs out)
    used_before = hugepages_used_by(s.prefix)
    s.start()
    pids = [s.pid("primary"), s.pid("worker-0"), s.pid("worker-1")]
    assert all(pid_alive(p) for p in pids)
    conn = s.connect(7)  # an open connection must not hold anything up
    conn.sendall(b"x")
    assert conn.recv(1) == b"x"

    s.script("stop")
    assert not any(pid_alive(p) for p in pids)
    conn.settimeout(scaled(5))
    try:
        leftover = conn.recv(10)  # FIN or RST from the stopping worker
    except ConnectionResetError:
        leftover = b""
    assert leftover == b""
    conn.close()
    assert "worker 0 stopped" in s.log("worker-0")
    assert "worker 1 stopped" in s.log("worker-1")
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert s.ns not in ns.split()
    assert not pathlib.Path(f"/var/run/dpdk/{s.prefix}").exists()
    assert not _hugepage_files(s.prefix)
    assert hugepages_back_to(s.prefix, used_before) <= used_before
