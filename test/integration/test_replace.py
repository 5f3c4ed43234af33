"""Replacing a live worker without failing a request (mps-secondary
--replace, scripts/mps-run.sh restart): a successor takes the queue over,
the old process finishes its connections and exits. A stack of its own
(primary + 2 workers)."""

import os
import re
import signal
import subprocess
import threading
import time

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


def connect_and_find(stack):
    """A new echo connection and the worker that holds it (the one whose
    open connections went up)."""
    before = stack.counters("tcp_active")
    c = stack.connect(7, timeout=scaled(10))
    k = wait_until(lambda: [k for k, (a, b) in enumerate(zip(stack.counters("tcp_active"), before))
                            if a > b], 10, "the connection's worker")[0]
    return c, k


class Stream(threading.Thread):
    """Echoes 16 KiB chunks on connection c until stopped; byte-exact or
    the error is kept. chunks counts the round trips done."""

    def __init__(self, c):
        super().__init__(daemon=True)
        self.c, self.chunks, self.error = c, 0, None
        self.done = threading.Event()

    def run(self):
        chunk = bytes(range(256)) * 64
        self.c.settimeout(scaled(10))
        try:
            while not self.done.is_set():
                self.c.sendall(chunk)
                got = b""
                while len(got) < len(chunk):
                    d = self.c.recv(len(chunk) - len(got))
                    if not d:
                        raise EOFError(f"closed after {self.chunks} chunks")
                    got += d
                if got != chunk:
                    raise ValueError(f"chunk {self.chunks} differs")
                self.chunks += 1
        except Exception as e:  # reported by stop()
            self.error = e

    def stop(self):
        self.done.set()
        self.join(timeout=scaled(30))
        return self.error


def test_rolling_restart_under_wrk_fails_no_request(rstack):
    """wrk keeps 32 keep-alive connections busy while both workers are
    replaced one after the other, from before the roll to after it (it is
    stopped with SIGINT, which makes it report): no socket error, no
    non-2xx answer; the old processes exit, the successors serve."""
    old = [worker(rstack, k)["pid"] for k in (0, 1)]
    restarts = [worker(rstack, k)["restarts"] for k in (0, 1)]
    with rstack.netns():
        wrk = subprocess.Popen(["wrk", "-t1", "-c32", "-d300s", f"http://{STACK_IP}/"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # Replace only once wrk's connections are open and answered.
        base = rstack.stats()["http_requests"]
        wait_until(lambda: rstack.stats()["http_requests"] > base + 1000, 10,
                   "wrk under way")
        r = restart(rstack)
        assert r.returncode == 0, r.stdout + r.stderr
        assert wrk.poll() is None, "wrk ended before the roll did"
        # And the successors serve wrk's reconnected connections.
        base = rstack.stats()["http_requests"]
        wait_until(lambda: rstack.stats()["http_requests"] > base + 1000, 10,
                   "wrk served after the roll")
        wrk.send_signal(signal.SIGINT)
        out, _ = wrk.communicate(timeout=scaled(30))
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
    """A stream running across the take-over stays in the old worker until
    it ends, byte-exact; the old worker exits only after it closed."""
    c, k = connect_and_find(rstack)
    old = worker(rstack, k)["pid"]
    stream = Stream(c)
    stream.start()
    result = {}
    t = threading.Thread(target=lambda: result.update(r=restart(rstack, str(k))))
    try:
        wait_until(lambda: stream.chunks >= 20, 10, "the stream under way")
        t.start()
        wait_until(lambda: worker(rstack, k)["draining_pid"] == old, 30,
                   "the old worker draining")
        at = stream.chunks
        wait_until(lambda: stream.chunks >= at + 50 or stream.error, 30,
                   "the stream going on after the hand-over")
        assert stream.error is None, stream.error
        assert pid_alive(old)  # still serving its connection
        assert worker(rstack, k)["draining_conns"] == 1
    finally:
        err = stream.stop()
        c.close()
        if t.ident is not None:
            t.join(timeout=scaled(60))
    assert err is None, err
    assert result["r"].returncode == 0, result["r"].stdout + result["r"].stderr
    assert not pid_alive(old)
    assert worker(rstack, k)["draining_pid"] == 0


def test_drain_timeout_resets_what_is_left(rstack):
    """A connection that never ends is reset by the old worker at the
    drain timeout (counted) before it exits."""
    c, k = connect_and_find(rstack)
    old = worker(rstack, k)["pid"]
    before = rstack.stats()["drain_reset"]
    try:
        t0 = time.monotonic()
        r = restart(rstack, str(k), drain=2)
        assert r.returncode == 0, r.stdout + r.stderr
        assert time.monotonic() - t0 >= 2  # it waited for the timeout
        assert not pid_alive(old)
        c.settimeout(scaled(10))
        with pytest.raises(ConnectionResetError):
            c.recv(1)  # the RST came without anything sent
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


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_successor_gone_after_the_takeover_gives_the_queue_back(rstack, tmp_path, sig):
    """Killed (or stopped cleanly) while the old worker drains a stream,
    the successor's queue goes back to the old worker, which keeps the
    stream going byte-exact through it all and serves new connections."""
    c, k = connect_and_find(rstack)
    old = worker(rstack, k)["pid"]
    stream = Stream(c)
    stream.start()
    try:
        log = tmp_path / "successor.log"
        s = rstack.spawn_secondary(log, "--worker", str(k), "--replace",
                                   "--drain-timeout", "600", lcore=70 + k)
        try:
            wait_until(lambda: (lambda w: w["pid"] == s.pid and w["draining_pid"] == old)(
                worker(rstack, k)), 30, "the successor serving, the old worker draining")
            at = stream.chunks
            wait_until(lambda: stream.chunks >= at + 20 or stream.error, 30,
                       "the stream going on in the old worker")
        finally:
            s.send_signal(sig)
            s.wait(timeout=scaled(30))
        wait_until(lambda: (lambda w: w["pid"] == old and w["draining_pid"] == 0 and
                            w["state"] == "running")(worker(rstack, k)), 10,
                   "the queue back with the old worker")
        at = stream.chunks
        wait_until(lambda: stream.chunks >= at + 20 or stream.error, 30,
                   "the stream going on after the take-back")
    finally:
        err = stream.stop()
        c.close()
    assert err is None, err
    assert b"200 OK" in http_once(rstack)
