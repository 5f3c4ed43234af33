"""Replacing a live worker without failing a request (mps-secondary
--replace, scripts/mps-run.sh restart): a successor takes the queue over,
the old process finishes its connections and exits. A stack of its own
(primary + 2 workers)."""

import os
import re
import signal
import subprocess
import threading

import pytest

from mps import (RUN, STACK_IP, TEST_NAME, Stack, http_once, pid_alive, scaled,
                 wait_until)


@pytest.fixture(scope="module")
def rstack():
    s = Stack(TEST_NAME + "r", workers=2)
    with s.running():
        yield s


def restart(stack, which="all", drain=30, timeout=90):
    """scripts/mps-run.sh restart WHICH, to completion (old ones exited)."""
    return subprocess.run([str(RUN), "restart", which],
                          env=dict(stack.env, MPS_DRAIN_TIMEOUT=str(drain)),
                          capture_output=True, text=True, timeout=scaled(timeout))


def worker(stack, k):
    return stack.workers_info()[str(k)]


def holder(stack):
    """The worker holding the one open connection."""
    return wait_until(lambda: [k for k, a in enumerate(stack.counters("tcp_active"))
                               if a == 1], 10, "the connection's worker")[0]


def test_rolling_restart_under_wrk_fails_no_request(rstack):
    """wrk keeps 32 keep-alive connections busy while both workers are
    replaced one after the other: no socket error, no non-2xx answer; the
    old processes exit, the successors serve."""
    old = [worker(rstack, k)["pid"] for k in (0, 1)]
    restarts = [worker(rstack, k)["restarts"] for k in (0, 1)]
    with rstack.netns():
        wrk = subprocess.Popen(["wrk", "-t1", "-c32", "-d8s", f"http://{STACK_IP}/"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # Replace only once wrk's connections are open and answered.
        base = rstack.stats()["http_requests"]
        wait_until(lambda: rstack.stats()["http_requests"] > base + 1000, 10,
                   "wrk under way")
        r = restart(rstack)
        assert r.returncode == 0, r.stdout + r.stderr
        out, _ = wrk.communicate(timeout=scaled(60))
    finally:
        if wrk.poll() is None:
            wrk.kill()
            wrk.wait()
    assert wrk.returncode == 0, out
    assert int(re.search(r"(\d+) requests in", out).group(1)) > 0, out
    assert "Socket errors" not in out, out
    assert "Non-2xx" not in out, out
    for k in (0, 1):
        assert not pid_alive(old[k])
        w = worker(rstack, k)
        assert w["pid"] not in (0, old[k]) and w["state"] == "running"
        assert w["restarts"] == restarts[k] + 1 and w["draining_pid"] == 0
    assert b"200 OK" in http_once(rstack)


def test_echo_stream_lives_through_the_takeover(rstack):
    """A stream that outlasts the take-over stays in the old worker until
    it ends, byte-exact; the old worker exits only after it closed."""
    c = rstack.connect(7, timeout=scaled(10))
    chunk = bytes(range(256)) * 64  # 16 KiB
    k = holder(rstack)
    old = worker(rstack, k)["pid"]
    result = {}
    t = threading.Thread(target=lambda: result.update(r=restart(rstack, str(k))))
    t.start()
    try:
        wait_until(lambda: worker(rstack, k)["draining_pid"] == old, 30,
                   "the old worker draining")
        # Keep streaming across the hand-over: 200 round trips.
        for i in range(200):
            c.sendall(chunk)
            got = b""
            while len(got) < len(chunk):
                d = c.recv(len(chunk) - len(got))
                assert d, f"closed after {i} chunks"
                got += d
            assert got == chunk, f"chunk {i} differs"
        assert pid_alive(old)  # still serving its connection
        assert worker(rstack, k)["draining_conns"] == 1
    finally:
        c.close()
        t.join(timeout=scaled(60))
    assert result["r"].returncode == 0, result["r"].stdout + result["r"].stderr
    assert not pid_alive(old)
    assert worker(rstack, k)["draining_pid"] == 0


def test_drain_timeout_resets_what_is_left(rstack):
    """A connection that never ends is reset at the drain timeout
    (counted); the old worker then exits."""
    c = rstack.connect(7, timeout=scaled(10))
    k = holder(rstack)
    old = worker(rstack, k)["pid"]
    before = rstack.stats()["drain_reset"]
    try:
        r = restart(rstack, str(k), drain=2)
        assert r.returncode == 0, r.stdout + r.stderr
        assert not pid_alive(old)
        c.settimeout(scaled(10))
        with pytest.raises(ConnectionResetError):
            c.sendall(b"x")
            assert c.recv(1) == b"", "no reset"
    finally:
        c.close()
    assert rstack.stats()["drain_reset"] == before + 1


def test_refusals_leave_the_worker_serving(rstack):
    """A mismatched binary, or --replace without --worker, changes
    nothing; --replace of a worker that is not running says so."""
    pid = worker(rstack, 0)["pid"]
    r = rstack.secondary("--worker", "0", "--replace", binary="layout999/mps-secondary")
    assert r.returncode != 0 and "layout mismatch" in r.stderr, r.stderr
    r = rstack.secondary("--replace")
    assert r.returncode != 0 and "--replace needs --worker" in r.stderr, r.stderr
    assert worker(rstack, 0)["pid"] == pid and worker(rstack, 0)["state"] == "running"
    assert worker(rstack, 0)["successor_pid"] == 0
    assert b"200 OK" in http_once(rstack)
    # Worker 1 stopped cleanly: not running, nothing to replace.
    w1 = worker(rstack, 1)["pid"]
    os.kill(w1, signal.SIGTERM)
    wait_until(lambda: worker(rstack, 1)["state"] == "free", 10, "worker 1 stopped")
    r = rstack.secondary("--worker", "1", "--replace")
    assert r.returncode != 0 and "worker 1 is not running" in r.stderr, r.stderr
    rstack.start_worker(1)
    wait_until(lambda: worker(rstack, 1)["state"] == "running", 10, "worker 1 back")


def test_successor_killed_before_the_takeover(rstack, tmp_path):
    """The old worker is stopped, so the successor waits at its request;
    killed there, it leaves the old worker serving as before."""
    old = worker(rstack, 0)["pid"]
    log = tmp_path / "successor.log"
    os.kill(old, signal.SIGSTOP)
    try:
        s = rstack.spawn_secondary(log, "--worker", "0", "--replace", lcore=70)
        wait_until(lambda: "ready to take over" in log.read_text(), 30,
                   "the successor waiting for the hand-over")
        s.kill()
        s.wait()
    finally:
        os.kill(old, signal.SIGCONT)
    wait_until(lambda: worker(rstack, 0)["successor_pid"] == 0, 10,
               "the dead successor's request dropped")
    w = worker(rstack, 0)
    assert w["pid"] == old and w["state"] == "running" and w["draining_pid"] == 0
    assert b"200 OK" in http_once(rstack)


def test_successor_killed_after_the_takeover_gives_the_queue_back(rstack, tmp_path):
    """Killed while the old worker still drains a connection, the
    successor's queue goes back to the old worker, which keeps the
    connection and serves new ones."""
    c = rstack.connect(7, timeout=scaled(10))
    try:
        k = holder(rstack)
        old = worker(rstack, k)["pid"]
        log = tmp_path / "successor.log"
        s = rstack.spawn_secondary(log, "--worker", str(k), "--replace",
                                   "--drain-timeout", "600", lcore=70 + k)
        try:
            wait_until(lambda: (lambda w: w["pid"] == s.pid and w["draining_pid"] == old)(
                worker(rstack, k)), 30, "the successor serving, the old worker draining")
        finally:
            s.kill()
            s.wait()
        wait_until(lambda: (lambda w: w["pid"] == old and w["draining_pid"] == 0 and
                            w["state"] == "running")(worker(rstack, k)), 10,
                   "the queue back with the old worker")
        c.sendall(b"still mine")
        c.settimeout(scaled(10))
        got = b""
        while len(got) < 10:
            d = c.recv(10 - len(got))
            assert d
            got += d
        assert got == b"still mine"
    finally:
        c.close()
    assert b"200 OK" in http_once(rstack)
