"""The HTTP app's limits (issue 14), on a stack with lowered time limits
so the tests are short: slowloris connections (a partial header, then
silence or a byte now and then) are closed once the header timeout is
over while a client from another address is served; an idle keep-alive
connection is closed after its listener's keep-alive timeout; a client
that reads nothing is reset after the send timeout; request bodies never
hang a connection (`rcvbuf=8192`), and an error answer is followed by a
lingering close, so a client still sending reads it instead of a RST.
Attackers and the legitimate client use their own addresses, added to the
tap in the namespace."""
import select
import socket
import threading
import time

import pytest

from mps import STACK_IP, TEST_NAME, Sniffer, Stack, scaled, wait_until

# The stack's lowered limits are time bounds of the suite too: scaled in
# stress mode, so a starved worker does not make them fire early.
HEADER_S = scaled(2)       # port 80
SEND_S = scaled(2)         # port 80
LINGER_S = scaled(1)       # port 80
KEEPALIVE_S = scaled(1.5)  # port 82; ports 81 and 83 keep the defaults
ATTACKERS = [f"198.18.0.{i}" for i in range(10, 14)]
LEGIT = "198.18.0.20"
SLOWLORIS = 200
DRIBBLERS = 4


@pytest.fixture(scope="module")
def hstack():
    ms = lambda s: int(s * 1000)  # noqa: E731
    s = Stack(TEST_NAME + "h", workers=2, primary_args=(
        f"--listen 80:http:header_timeout={ms(HEADER_S)}:send_timeout={ms(SEND_S)}:"
        f"linger_timeout={ms(LINGER_S)},81:http:rcvbuf=8192,"
        f"82:http:keepalive_timeout={ms(KEEPALIVE_S)},83:http"))
    with s.running():
        for a in ATTACKERS + [LEGIT]:
            s.exec("ip", "addr", "add", f"{a}/24", "dev", "mps0", check=True)
        yield s


class _Sock(socket.socket):
    """A socket that can carry read_response's leftover bytes."""
    pending = b""


def connect_from(stack, src, port, rcvbuf=None):
    with stack.netns():
        s = _Sock()
    s.settimeout(scaled(10))
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((src, 0))
    s.connect((STACK_IP, port))
    return s


def read_response(s, stack=None):
    """One response: (status, headers, body). Bytes after it (a pipelined
    next response) wait in s.pending for the next call. With stack, a reset
    shows the counters of the limits that may have caused it."""
    buf = getattr(s, "pending", b"")

    def more():
        try:
            return s.recv(65536)
        except ConnectionResetError:
            if stack is None:
                raise
            st = stack.stats()
            raise AssertionError("reset; " + ", ".join(
                f"{k} {v}" for k, v in st.items() if "timeout" in k or k in (
                    "tcp_linger", "tcp_reset", "tcp_sndq_drop", "rx_refused",
                    "stray_handed")))
    while b"\r\n\r\n" not in buf:
        chunk = more()
        assert chunk, "closed before a response"
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    length = int(headers["content-length"])
    while len(buf) < length:
        chunk = more()
        assert chunk, "closed inside a body"
        buf += chunk
    s.pending = buf[length:]
    return int(lines[0].split()[1]), headers, buf[:length]


def eof(s, rst_ok=False):
    """True once the peer's FIN was read (a RST fails the test unless
    rst_ok: a client that sends after our FIN is answered with one)."""
    r, _, _ = select.select([s], [], [], 0)
    if not r:
        return False
    try:
        d = s.recv(65536)
    except ConnectionResetError:
        if rst_ok:
            return True
        raise
    assert d == b"", f"unexpected data {d[:40]!r}"
    return True


def test_slowloris_closed_after_header_timeout(hstack):
    before = hstack.stats()["tcp_header_timeout"]
    conns = []  # [socket, opened at, closed at, dribbles]
    for i in range(SLOWLORIS + DRIBBLERS):
        opened = time.monotonic()  # before the stack can accept it
        s = connect_from(hstack, ATTACKERS[i % len(ATTACKERS)], 80)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # the header never ends
        conns.append([s, opened, None, i >= SLOWLORIS])
    dribblers = conns[-DRIBBLERS:]

    # A legitimate client from another address is served meanwhile.
    c = connect_from(hstack, LEGIT, 80)
    for _ in range(20):
        c.sendall(b"GET /bytes/65536 HTTP/1.1\r\nHost: x\r\n\r\n")
        st, _, body = read_response(c)
        assert st == 200 and len(body) == 65536
    c.close()

    last_drip = [0.0]

    def all_closed():
        # The dribblers send one more header byte every 200 ms: the
        # timeout bounds the whole header, not the gap between bytes.
        if time.monotonic() - last_drip[0] >= 0.2:
            last_drip[0] = time.monotonic()
            for d in dribblers:
                if d[2] is None:
                    try:
                        d[0].send(b"X")
                    except OSError:
                        pass  # closed already; the read below tells
        for i, e in enumerate(conns):
            try:
                if e[2] is None and eof(e[0], rst_ok=e[3]):
                    e[2] = time.monotonic()
            except ConnectionResetError:
                st = hstack.stats()
                raise AssertionError(
                    f"slowloris {i} reset {time.monotonic() - e[1]:.2f}s after it opened; " +
                    ", ".join(f"{k} {v}" for k, v in st.items() if "timeout" in k or k in (
                        "tcp_linger", "tcp_reset", "tcp_accepted", "syn_evicted",
                        "stray_handed", "stray_rx", "adopt_rst", "tcp_refused")))
        return all(e[2] is not None for e in conns)
    wait_until(all_closed, (HEADER_S + scaled(5) + time.monotonic() - conns[0][1]) / scaled(1),
               "every slowloris connection closed (FIN)", interval=0.02)
    for s, opened, closed, _ in conns:
        s.close()
        # never before its deadline (the timer's lower bound, not a goal)
        assert closed - opened >= HEADER_S - 0.05
    wait_until(lambda: hstack.stats()["tcp_header_timeout"] - before >= len(conns), 5,
               "the header timeouts counted")


def test_idle_keepalive_closed_per_listener(hstack):
    before = hstack.stats()["tcp_keepalive_timeout"]
    short = connect_from(hstack, LEGIT, 82)
    long = connect_from(hstack, LEGIT, 83)
    t_sent = time.monotonic()
    for s in (short, long):
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(s)[0] == 200
    wait_until(lambda: eof(short), KEEPALIVE_S / scaled(1) + 5, "the idle connection closed (FIN)")
    assert time.monotonic() - t_sent >= KEEPALIVE_S - 0.05
    wait_until(lambda: hstack.stats()["tcp_keepalive_timeout"] > before, 5,
               "the keep-alive timeout counted")
    # port 83 keeps the default (75 s): its connection still serves.
    long.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(long)[0] == 200
    short.close()
    long.close()


def test_stalled_reader_reset_after_send_timeout(hstack):
    from scapy.layers.inet import TCP
    before = hstack.stats()["tcp_send_timeout"]
    with Sniffer(hstack, filter=f"tcp and src host {STACK_IP} and src port 80 and "
                 "tcp[tcpflags] & tcp-rst != 0") as sn:
        s = connect_from(hstack, ATTACKERS[0], 80, rcvbuf=4096)
        port = s.getsockname()[1]
        t_sent = time.time()  # before the stack can answer
        s.sendall(b"GET /bytes/100000000 HTTP/1.1\r\nHost: x\r\n\r\n")
        # ... and never reads.
        rst, = sn.wait(lambda p: p[TCP].dport == port, SEND_S / scaled(1) + 10,
                       "the RST to the stalled reader")
    assert rst.time - t_sent >= SEND_S - 0.05
    wait_until(lambda: hstack.stats()["tcp_send_timeout"] > before, 5,
               "the send timeout counted")
    s.close()


def test_slow_reader_outlives_the_send_timeout(hstack):
    """The send timeout counts from the last acknowledgement of new data:
    a reader that takes a little every SEND_S / 4 keeps its connection for
    three timeouts and more, and then reads the rest."""
    before = hstack.stats()["tcp_send_timeout"]
    size = 4 << 20
    s = connect_from(hstack, LEGIT, 80, rcvbuf=4096)
    s.sendall(f"GET /bytes/{size} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    got, t_end = 0, time.monotonic() + 3 * SEND_S + 1
    while time.monotonic() < t_end:
        got += len(s.recv(4096))  # a reset raises here
        time.sleep(SEND_S / 4)
    assert got > 0
    s.settimeout(scaled(30))
    while True:  # then at full speed, to the end of the body
        b = s.recv(1 << 20)
        assert b, f"closed after {got} bytes"
        got += len(b)
        if got >= size:
            break
    s.close()
    assert hstack.stats()["tcp_send_timeout"] == before


def _send_in_thread(s, data):
    """sendall in a thread; returns (thread, errors)."""
    errors = []

    def run():
        try:
            s.sendall(data)
        except OSError as e:
            errors.append(e)
    t = threading.Thread(target=run)
    t.start()
    return t, errors


def test_rcvbuf_8192_small_body_dropped_connection_kept(hstack):
    """A 20 KB body to a 405 cannot fit the 8 KB window: it is dropped as
    it arrives and the next request on the connection is answered."""
    s = connect_from(hstack, LEGIT, 81)
    t, errors = _send_in_thread(s, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20000\r\n\r\n"
                                + b"a" * 20000 + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    st, headers, _ = read_response(s, hstack)
    assert st == 405 and headers.get("allow") == "GET, HEAD"
    st, _, body = read_response(s, hstack)
    assert st == 200 and body == b"Hello from mpstack\n"
    t.join(scaled(10))
    assert not t.is_alive() and not errors
    s.close()


@pytest.mark.parametrize("port", [81, 83])
def test_large_body_413_lingering_close(hstack, port):
    """A 1 MB body is refused at once (413, Connection: close); the client,
    still sending it, gets through (the body is read and dropped), reads the
    answer and a FIN, never a RST."""
    before = hstack.stats()["tcp_linger"]
    s = connect_from(hstack, LEGIT, port)
    t, errors = _send_in_thread(s, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
                                + b"a" * 1000000)
    t.join(scaled(20))
    assert not t.is_alive() and not errors, errors
    st, headers, _ = read_response(s)
    assert st == 413 and headers.get("connection") == "close"
    assert s.recv(100) == b""
    s.close()
    assert hstack.stats()["tcp_linger"] > before


def test_body_to_get_refused_unread(hstack):
    """A GET announcing a body is answered without it (400, close)."""
    s = connect_from(hstack, LEGIT, 81)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n\r\n")
    st, headers, _ = read_response(s)
    assert st == 400 and headers.get("connection") == "close"
    assert s.recv(100) == b""
    s.close()


@pytest.mark.parametrize("req,status", [
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 411),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n", 405),
])
def test_unread_body_answered_then_closed(hstack, req, status):
    """A body of unknown length, or one the client holds back for a
    100-continue, is not waited for: answer, then close."""
    s = connect_from(hstack, LEGIT, 83)
    s.sendall(req)
    st, headers, _ = read_response(s)
    assert st == status and headers.get("connection") == "close"
    assert s.recv(100) == b""
    s.close()
