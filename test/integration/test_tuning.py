"""TCP tuning changes what lwIP does, checked without timing.
quickack: lwIP ACKs every segment instead of every second one (counted in
frames). nodelay and rto_min: the pcb the listener hands out carries them
(the workers count Nagle-off and quick-ACK connections and report the RTO
of the last one established)."""
import fcntl
import socket
import struct
import termios

import pytest

from mps import TEST_NAME, Stack, wait_until

PAIRS = 40


@pytest.fixture(scope="module")
def tstack():
    s = Stack(TEST_NAME + "t", workers=2, primary_args=(
        "--listen 9:discard:quickack=1,10:discard,7:echo,"
        "8:echo:nodelay=0:rto_min=5000"))
    with s.running():
        yield s



def outq(sock):
    """Bytes the kernel still holds unacknowledged (SIOCOUTQ)."""
    return struct.unpack("i", fcntl.ioctl(sock, termios.TIOCOUTQ, b"\0" * 4))[0]


def ack_ratio(stack, port):
    """Sends PAIRS pairs of 1-byte segments, each pair once the previous is
    acknowledged: frames the stack sent per frame it received."""
    accepted0 = stack.stats()["tcp_accepted"]
    s = stack.connect(port)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # This connection accepted, and its handshake counted, before the window.
    wait_until(lambda: stack.stats()["tcp_accepted"] > accepted0, 10, "accepted")
    stack.settle()
    before = stack.stats()
    for _ in range(PAIRS):
        s.send(b"a")
        s.send(b"b")
        wait_until(lambda: outq(s) == 0, 10, "pair acknowledged", interval=0.001)
    # The kernel has the last ACK; the stack counts it after sending it.
    stack.settle()
    after = stack.stats()
    s.close()
    rx = after["rx_pkts"] - before["rx_pkts"]
    tx = after["tx_pkts"] - before["tx_pkts"]
    assert rx >= 2 * PAIRS
    return tx / rx


def test_quickack_acks_every_segment(tstack):
    quick = ack_ratio(tstack, 9)
    delayed = ack_ratio(tstack, 10)
    assert quick >= 0.9, quick
    assert delayed <= 0.75, delayed


def test_nodelay_and_rto_min_reach_the_pcb(tstack):
    def conn(port):
        before = tstack.stats()
        s = tstack.connect(port)
        s.sendall(b"x")
        assert s.recv(1) == b"x"
        after = wait_until(lambda: (lambda a: a if a["tcp_accepted"] > before["tcp_accepted"]
                                    else None)(tstack.stats()), 10, f"port {port} accepted")
        s.close()
        return {k: after[k] - before[k] for k in ("tcp_nodelay", "tcp_quickack",
                                                  "tcp_accepted")}, after

    d, after = conn(7)          # defaults: Nagle off, delayed ACKs
    assert d == {"tcp_nodelay": 1, "tcp_quickack": 0, "tcp_accepted": 1}
    info = tstack.workers_info()
    assert all(w["tcp_rto_ms"] < 5000 for w in info.values())
    d, after = conn(8)          # nodelay=0, rto_min=5000
    assert d == {"tcp_nodelay": 0, "tcp_quickack": 0, "tcp_accepted": 1}
    info = tstack.workers_info()
    assert max(w["tcp_rto_ms"] for w in info.values()) >= 5000
