"""A peer that sends tiny segments and never lets the app consume
them must not pin the shared mbuf pool. Unread data in small segments is
copied into lwIP's heap and its mbuf freed; the pool's in_use stays within
BOUND of where it started while ~SEGS one-byte segments sit unread."""
import socket
import struct
import time

from mps import STACK_IP, echo_once, http_once, scaled, wait_until

SEGS = 1500     # one-byte segments per connection
BOUND = 256     # mbufs in_use may grow by (unpatched: about one per segment)


def _in_use(stack):
    return stack.telemetry("/mps/pool")["in_use"]


def _rx_pkts(stack):
    return sum(w["rx_pkts"] for w in stack.workers_info().values())


def _tcp_info(s):
    """(unacked, snd_cwnd) from struct tcp_info."""
    b = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return struct.unpack_from("I", b, 24)[0], struct.unpack_from("I", b, 80)[0]


def _all_acked(s):
    """Everything sent on s reached the stack: nothing unacked
    (tcpi_unacked) and nothing unsent (tcpi_notsent_bytes)."""
    raw = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 232)
    return (struct.unpack_from("I", raw, 24)[0] == 0 and
            struct.unpack_from("I", raw, 144)[0] == 0)


def _dribble(socks, nbytes, byte=b"a", timeout=60):
    """Sends nbytes one-byte segments on each socket, never more in flight
    than the congestion window, so the kernel cannot merge them."""
    left = {s: nbytes for s in socks}
    deadline = time.monotonic() + scaled(timeout)
    while left:
        assert time.monotonic() < deadline, "dribbling took too long"
        idle = True
        for s in list(left):
            unacked, cwnd = _tcp_info(s)
            while left[s] and unacked < cwnd:
                s.send(byte)
                left[s] -= 1
                unacked += 1
                idle = False
            if not left[s]:
                del left[s]
        if idle:
            time.sleep(0.002)


def _open(stack, port, rcvbuf=None):
    with stack.netns():
        s = socket.socket()
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(10)
        s.connect((STACK_IP, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def test_unfinished_http_headers_do_not_pin_pool(stack):
    stack.exec("sysctl", "-qw", "net.ipv4.tcp_autocorking=0")
    base, pkts0 = _in_use(stack), _rx_pkts(stack)
    socks = [_open(stack, 80) for _ in range(4)]
    try:
        for s in socks:
            s.send(b"GET / HTTP/1.1\r\nX-Slow: ")
        _dribble(socks, SEGS)
        # The stack acknowledged every byte: all segments were taken in (a
        # count of frames received moves earlier: the last may be in flight).
        wait_until(lambda: all(_all_acked(s) for s in socks), 20,
                   "the stack to acknowledge every segment")
        assert _rx_pkts(stack) >= pkts0 + 4 * SEGS * 0.9, "fewer frames than segments reached the stack"
        grown = _in_use(stack) - base
        print(f"\n[rx-pool] http: {_rx_pkts(stack) - pkts0} frames, in_use +{grown}")
        assert grown < BOUND, f"in_use grew by {grown} mbufs"
        assert http_once(stack)  # a normal client is served meanwhile
    finally:
        for s in socks:
            s.close()
    copied = sum(w["rx_copied"] for w in stack.workers_info().values())
    assert copied >= 4 * SEGS * 0.9


def test_echo_peer_that_never_reads_does_not_pin_pool(stack):
    stack.exec("sysctl", "-qw", "net.ipv4.tcp_autocorking=0")
    s = _open(stack, 7, rcvbuf=4096)
    try:
        # Fill the echo's way back (our tiny receive buffer, and what the
        # stack holds for a peer whose window is closed: a few KiB, see
        # README "Limits") so the echo app stops consuming, and leave data
        # unread with room left in the 128 KiB receive window.
        s.setblocking(False)
        sent, deadline = 0, time.monotonic() + scaled(30)
        while sent < 96 * 1024:
            assert time.monotonic() < deadline, "bulk send took too long"
            try:
                sent += s.send(b"x" * min(65536, 96 * 1024 - sent))
            except BlockingIOError:
                time.sleep(0.01)
        s.setblocking(True)
        wait_until(lambda: _all_acked(s), 20, "lwIP to acknowledge the bulk")
        base, pkts0 = _in_use(stack), _rx_pkts(stack)
        _dribble([s], SEGS)
        wait_until(lambda: _all_acked(s), 20, "the stack to acknowledge every segment")
        assert _rx_pkts(stack) >= pkts0 + SEGS * 0.9, "fewer frames than segments reached the stack"
        grown = _in_use(stack) - base
        print(f"\n[rx-pool] echo: {_rx_pkts(stack) - pkts0} frames, in_use +{grown}")
        assert grown < BOUND, f"in_use grew by {grown} mbufs"
        assert echo_once(stack)
    finally:
        s.close()
