"""The worker-side API and its built-in users: several listeners
with their own tuning, a per-connection send limit that drops clients which
fall behind (counted) while others are served, and active opens from every
worker (--connect) that complete and report round trips."""
import socket
import struct
import subprocess
import threading

import pytest

from mps import PEER_IP, TEST_NAME, Stack, http_once, netns, scaled, wait_until

SNDQ = 262144            # the source listener's send-queue limit
SOURCE_BLOCK = 65536     # bytes the source app pushes per byte received
ECHO_PORT = 7007         # the kernel-side echo server the workers call
CLIENT_ROUNDS = 100


def _kernel_echo_server(ns, stop):
    """A threaded echo server on PEER_IP:ECHO_PORT inside the namespace."""
    with netns(ns):
        srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", ECHO_PORT))
    srv.listen(64)
    srv.settimeout(0.2)

    def serve(c):
        c.settimeout(30)
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        c.close()

    def loop():
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except socket.timeout:
                continue
            threading.Thread(target=serve, args=(c,), daemon=True).start()
        srv.close()

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return t


@pytest.fixture(scope="module")
def api_stack():
    name = TEST_NAME + "api"
    s = Stack(name, workers=2, primary_args=(
        "--listen 7:echo,80:http,19:source:sndq=%d,9:discard:rcvbuf=8192,"
        "10:discard --connect %s:%d:echo,%s:%d:echo --rto-min 200 "
        "--initcwnd 10" % (SNDQ, PEER_IP, ECHO_PORT, PEER_IP, ECHO_PORT)))
    s.stop()
    # The workers connect as they start: the kernel's echo server must be
    # listening first, so make the namespace here (mps-run.sh uses it).
    subprocess.run(["ip", "netns", "add", name], capture_output=True)
    s.exec("ip", "link", "set", "lo", "up")
    stop = threading.Event()
    srv = _kernel_echo_server(name, stop)
    try:
        s.start()
        yield s
    finally:
        stop.set()
        srv.join(5)
        s.stop()
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _total(stack, key):
    return sum(w[key] for w in stack.workers_info().values())


def test_source_drops_clients_over_send_limit(api_stack):
    """100 clients ask for 4 MiB each and never read: each is dropped once
    its queue would pass the limit (counted, RST); a client that reads as it
    asks gets everything; nothing stays queued."""
    drops0 = _total(api_stack, "tcp_sndq_drop")
    active0 = _total(api_stack, "tcp_active")
    laggards = []
    for _ in range(100):
        s = api_stack.connect(19, timeout=30)
        s.sendall(b"x" * 64)
        laggards.append(s)
    good = api_stack.connect(19, timeout=30)
    got = 0
    for _ in range(16):
        good.sendall(b"y")
        want = got + SOURCE_BLOCK
        while got < want:
            chunk = good.recv(want - got)
            assert chunk, "the reading client was closed"
            got += len(chunk)
    assert got == 16 * SOURCE_BLOCK
    wait_until(lambda: _total(api_stack, "tcp_sndq_drop") - drops0 >= 100, 30,
               "100 connections dropped over their send limit")
    assert _total(api_stack, "tcp_sndq_drop") - drops0 == 100
    for s in laggards[:5]:  # the laggards see a reset after what was sent
        with pytest.raises(ConnectionResetError):
            while s.recv(1 << 20):
                pass
    for s in laggards:
        s.close()
    info = api_stack.workers_info()
    assert max(w["sndq_max"] for w in info.values()) <= SNDQ
    good.close()
    wait_until(lambda: _total(api_stack, "tcp_active") <= active0, 30,
               "connections to go away")
    wait_until(lambda: _total(api_stack, "sndq_bytes") == 0, 10,
               "send queues to empty")


def test_http_non_readers_bounded_others_served(api_stack):
    """100 clients request 50 MB bodies and never read: the server streams
    only as the window allows (queues bounded, nobody dropped) and a fresh
    client is answered meanwhile."""
    drops0 = _total(api_stack, "tcp_sndq_drop")
    stuck = []
    for _ in range(100):
        s = api_stack.connect(80, timeout=30)
        s.sendall(b"GET /bytes/50000000 HTTP/1.1\r\nHost: x\r\n\r\n")
        stuck.append(s)
    samples = []

    def stalled():
        samples.append(_total(api_stack, "tx_bytes"))
        return len(samples) > 4 and samples[-1] == samples[-4]
    wait_until(stalled, 60, "the server's sending to stall on the readers", 0.2)
    assert samples[-1] < 100 * 8 * 1024 * 1024, "more queued than windows allow"
    buf = http_once(api_stack)
    assert buf.startswith(b"HTTP/1.1 200") and buf.endswith(b"Hello from mpstack\n")
    assert _total(api_stack, "tcp_sndq_drop") == drops0
    assert _total(api_stack, "sndq_bytes") == 0
    for s in stuck:
        s.close()


def _peer_window(sock):
    """The window the stack advertises to this socket (tcpi_snd_wnd)."""
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 232)
    return struct.unpack_from("I", raw, 228)[0]


def _all_acked(sock):
    """Nothing unsent (tcpi_notsent_bytes) and nothing unacked."""
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 232)
    return (struct.unpack_from("I", raw, 24)[0] == 0 and
            struct.unpack_from("I", raw, 144)[0] == 0)


def test_listener_rcvbuf(api_stack):
    """Per-listener receive buffer: once the window the handshake granted is
    used up (a window never shrinks), port 9 advertises at most 8 KiB, port
    10 (global default) far more."""
    wins = {}
    for port in (9, 10):
        s = api_stack.connect(port)
        s.sendall(b"z" * 400000)
        wait_until(lambda: _all_acked(s), 20, "everything sent to be acked")
        wins[port] = _peer_window(s)
        s.close()
    assert wins[9] <= 8192, wins
    assert wins[10] > 32768, wins


def test_connect_from_every_worker(api_stack):
    """Each worker opened two connections to the kernel's echo server; all
    complete on the worker that opened them and report round trips."""
    def done():
        info = api_stack.workers_info()
        return all(w["client_done"] >= 2 for w in info.values()) and info
    info = wait_until(done, 60, "every worker's echo clients to finish")
    for wid, w in info.items():
        assert w["tcp_connect_ok"] >= 2, (wid, w)
        assert w["tcp_connect_fail"] == 0, (wid, w)
        assert w["client_rtts"] >= 2 * CLIENT_ROUNDS, (wid, w)
        assert 0 < w["client_rtt_us_sum"] / w["client_rtts"] < scaled(1) * 1e6, (wid, w)
