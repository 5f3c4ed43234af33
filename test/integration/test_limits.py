"""No peer starves the others (issue 14): memory and connection limits.

Attackers and the legitimate client bind to extra addresses added to the
tap in the namespace, so the stack tells them apart by source address.

- Slowloris and stalled readers together, from 20 addresses, against 2
  workers: SLOWLORIS connections send part of a request header and then
  nothing; STALLED connections each ask for /bytes/100000000 and never
  read. Meanwhile a client on another address is served LEGIT_REQUESTS of
  LEGIT_REQUESTS 64 KiB answers, each within a (scaled) bound of
  LEGIT_BOUND_S; the workers stay up; every slowloris connection is closed
  (a FIN, no answer) within the header timeout plus 5 s (scaled) of its
  handshake; once the attackers leave, the mbuf pool's in_use and every
  worker's lwIP heap gauge return to where they started.
- Idle keep-alive connections beyond the per-worker limit: one worker,
  more idle keep-alive connections (each had one answer) than lwIP has
  PCBs (10,240); a new client from another address still connects and is
  served (the longest idle connection is reset for it, counted).
- Per-source limit: one worker; one address opening more than the default
  --max-conns-per-ip (1024) is refused beyond it (a RST: ECONNREFUSED, or
  a reset right after a handshake that was in flight; counted) while
  another address is accepted and served.
"""
import errno
import fcntl
import resource
import select
import socket
import struct
import termios
import time

import pytest

from mps import STACK_IP, TEST_NAME, Sniffer, Stack, scaled, wait_until

STALLED = 1200
SLOWLORIS = 3000
ATTACK_ADDRS = [f"198.18.0.{10 + i}" for i in range(20)]
LEGIT_ADDR = "198.18.0.50"
LEGIT_REQUESTS = 20
LEGIT_BYTES = 65536
LEGIT_BOUND_S = 2.0
HEADER_TIMEOUT_S = 30          # --header-timeout default (README)


def _add_addrs(stack, addrs):
    for a in addrs:
        stack.exec("ip", "addr", "add", f"{a}/24", "dev", "mps0", check=True)


def _raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(n, hard), max(n, hard)))


def _open_many(stack, addrs, n, request=None, timeout=60, hung=None, times=None):
    """n connections spread over source addresses addrs, opened with
    non-blocking connects; each sends request once established. Returns
    (connected sockets, refused count): a connection refused or reset
    during the handshake counts as refused. A connect still pending after
    timeout (scaled) fails, unless hung is a list: then it goes there.
    times, a dict, gets each connected socket's handshake time."""
    pending, done, refused = {}, [], 0
    deadline = time.monotonic() + scaled(timeout)
    with stack.netns():
        for i in range(n):
            s = socket.socket()
            s.bind((addrs[i % len(addrs)], 0))
            s.setblocking(False)
            r = s.connect_ex((STACK_IP, 80))
            assert r in (0, errno.EINPROGRESS), errno.errorcode.get(r, r)
            pending[s.fileno()] = s
            # Keep the handshakes in flight well under a listener's
            # backlog (255): the SYN-flood guard evicts the oldest half-open
            # connections of a listener whose backlog is nearly full.
            while len(pending) >= 96:
                refused += _reap(pending, done, request, deadline, hung, times)
        while pending:
            refused += _reap(pending, done, request, deadline, hung, times)
    return done, refused


def _reap(pending, done, request, deadline, hung, times):
    if time.monotonic() > deadline:
        assert hung is not None, f"{len(pending)} connects still pending"
        hung.extend(pending.values())
        pending.clear()
        return 0
    refused = 0
    p = select.poll()
    for fd in pending:
        p.register(fd, select.POLLOUT)
    for fd, _ in p.poll(100):
        s = pending.pop(fd)
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err == 0:
            if times is not None:
                times[s] = time.monotonic()
            if request:
                s.send(request)
            done.append(s)
        else:
            assert err in (errno.ECONNREFUSED, errno.ECONNRESET), errno.errorcode.get(err, err)
            s.close()
            refused += 1
    return refused


def _inq(s):
    """Bytes waiting in s's receive queue, or -1 once the connection is no
    longer established (reset, or closed by the peer): Linux still hands
    out the data a reset connection had received, so its state tells."""
    if s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0] != 1:  # TCP_ESTABLISHED
        return -1
    return struct.unpack("i", fcntl.ioctl(s.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]


def _get(stack, addr, path, bound):
    """One GET from addr with Connection: close, the whole answer read
    within bound seconds (already scaled). Returns the body length, or the
    error."""
    deadline = time.monotonic() + bound
    try:
        with stack.netns():
            s = socket.socket()
        s.bind((addr, 0))
        s.settimeout(bound)
        s.connect((STACK_IP, 80))
        s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path.encode())
        buf = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return TimeoutError(f"answer not complete after {bound:g}s ({len(buf)} bytes)")
            s.settimeout(left)
            d = s.recv(65536)
            if not d:
                break
            buf += d
        s.close()
    except OSError as e:
        return e
    head, _, body = buf.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        return ValueError(head[:80])
    return len(body)


def _close_all(stack, socks, chunk=500):
    """Closes socks (each sends a RST: its answer is unread) a chunk at a
    time, waiting for the stack to let go of each chunk: a burst of
    thousands of RSTs would overflow the tap's queue, and a lost RST is
    only found by keepalive a minute later."""
    for i in range(0, len(socks), chunk):
        left = stack.stats()["tcp_active"]
        part = socks[i:i + chunk]
        for s in part:
            s.close()
        wait_until(lambda: stack.stats()["tcp_active"] <= max(0, left - len(part)), 30,
                   "the stack to let go of the connections closed")


def _worker_gauges(stack, key):
    return {wid: w.get(key) for wid, w in stack.workers_info().items()}


@pytest.fixture
def two_workers():
    s = Stack(TEST_NAME + "lim", workers=2, primary_args="--listen 80:http")
    with s.running():
        yield s


def _wait_closed(socks, deadline):
    """Waits until every socket in socks (a dict socket -> handshake time)
    was closed by the stack, or deadline (monotonic) passes. Returns
    {socket: (seconds from the handshake to the close, bytes received)}
    for those closed; a close is a FIN (recv returns b"") or a reset."""
    closed, p = {}, select.poll()
    by_fd = {s.fileno(): s for s in socks}
    for fd in by_fd:
        p.register(fd, select.POLLIN | select.POLLRDHUP)
    got = {fd: 0 for fd in by_fd}
    while len(closed) < len(socks) and time.monotonic() < deadline:
        for fd, _ in p.poll(100):
            s = by_fd[fd]
            try:
                d = s.recv(4096)
            except OSError:
                d = b""
            if d:
                got[fd] += len(d)
                continue
            closed[s] = (time.monotonic() - socks[s], got[fd])
            p.unregister(fd)
    return closed


def test_slowloris_and_stalled_readers_do_not_starve_a_legit_client(two_workers):
    stack = two_workers
    _raise_nofile(SLOWLORIS + STALLED + 1024)
    _add_addrs(stack, ATTACK_ADDRS + [LEGIT_ADDR])
    assert _get(stack, LEGIT_ADDR, "/", scaled(10)) == 19  # warm: ARP, neighbours
    pids = {w: stack.pid(f"worker-{w}") for w in (0, 1)}
    pool0 = stack.telemetry("/mps/pool")["in_use"]
    heap0 = _worker_gauges(stack, "lwip_heap_used")
    base = stack.stats()

    hung, lorises, socks = [], {}, []
    try:
        lsocks, lrefused = _open_many(stack, ATTACK_ADDRS, SLOWLORIS,
                                      b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: slow",
                                      timeout=30, hung=hung, times=lorises)
        socks, refused = _open_many(
            stack, ATTACK_ADDRS, STALLED,
            b"GET /bytes/100000000 HTTP/1.1\r\nHost: x\r\n\r\n", timeout=30, hung=hung)
        opened = time.monotonic()
        # Every stalled reader's answer started (its receive queue holds
        # bytes) or it was reset: the stack is now holding what they do not
        # read. (Asserted after the legitimate client's turn, the point.)
        try:
            wait_until(lambda: all(_inq(s) != 0 for s in socks), 30,
                       "every stalled reader to hold part of its answer")
            unanswered = 0
        except AssertionError:
            unanswered = sum(1 for s in socks if _inq(s) == 0)
        lorises_open = sum(1 for s in lsocks if _inq(s) == 0)
        results = [_get(stack, LEGIT_ADDR, f"/bytes/{LEGIT_BYTES}", scaled(LEGIT_BOUND_S))
                   for _ in range(LEGIT_REQUESTS)]
        legit_s = time.monotonic() - opened
        lorises_open_after = sum(1 for s in lsocks if _inq(s) == 0)
        st = stack.stats()
        served = sum(1 for r in results if r == LEGIT_BYTES)
        reset = sum(1 for s in socks if _inq(s) < 0)
        print(f"\n[limits] {len(lsocks)} slowloris ({lrefused} refused), {len(socks)} stalled "
              f"readers ({refused} refused, {unanswered} never answered), {len(hung)} never "
              f"accepted; slowloris open before/after the legit client: {lorises_open}/"
              f"{lorises_open_after}; legit served {served}/{LEGIT_REQUESTS} "
              f"(done {legit_s:.1f}s after the last attacker's handshake); stalled readers "
              f"reset {reset}; " + ", ".join(
                  f"{k} +{st.get(k, 0) - base.get(k, 0)}" for k in (
                      "tcp_reset", "tcp_sndq_drop", "mem_shed", "mem_wait", "tcp_send_timeout",
                      "tcp_header_timeout", "ring_drop", "stray_handed", "conn_limit_ip")) +
              f"; heap {_worker_gauges(stack, 'lwip_heap_used')}")
        assert served == LEGIT_REQUESTS, [r for r in results if r != LEGIT_BYTES][:3]
        assert not hung and not unanswered and not refused and not lrefused, \
            "the stack stopped accepting or answering some attackers"
        assert lorises_open == SLOWLORIS, "slowloris connections closed before the legit client's turn"
        assert {w: stack.pid(f"worker-{w}") for w in (0, 1)} == pids
        assert all(w["state"] == "running" for w in stack.workers_info().values())

        # Every slowloris is closed, with a FIN and no answer, within the
        # header timeout (from its accept, which follows our handshake) plus
        # 5 s.
        bound = HEADER_TIMEOUT_S + scaled(5)
        closed = _wait_closed(lorises, max(lorises.values()) + bound)
        late = [round(t, 1) for t, _ in closed.values() if t > bound]
        answered = sum(1 for _, n in closed.values() if n)
        times = sorted(t for t, _ in closed.values())
        print(f"[limits] slowloris closed: {len(closed)}/{len(lorises)}, "
              f"{times[0] if times else 0:.1f}-{times[-1] if times else 0:.1f}s after the "
              f"handshake; tcp_header_timeout "
              f"+{stack.stats()['tcp_header_timeout'] - base['tcp_header_timeout']}")
        assert len(closed) == len(lorises), f"{len(lorises) - len(closed)} slowloris still open"
        assert not late, f"closed later than {bound:g}s: {late[:5]}"
        assert not answered, f"{answered} slowloris got bytes before the close"
    finally:
        for s in hung:
            s.close()
        _close_all(stack, [s for s in socks if _inq(s) >= 0])
        for s in list(socks) + list(lorises):
            s.close()
    # The attackers left: what they held is given back.
    wait_until(lambda: stack.stats()["tcp_active"] == 0, 30,
               "every attacker's connection to be gone")
    wait_until(lambda: stack.telemetry("/mps/pool")["in_use"] <= pool0, 30,
               f"the pool's in_use back to {pool0}")
    wait_until(lambda: all(v <= heap0[k] for k, v in
                           _worker_gauges(stack, "lwip_heap_used").items()), 30,
               f"every worker's lwIP heap back to {heap0}")


PCB_POOL = 10240               # MEMP_NUM_TCP_PCB, secondary/lwip/lwipopts.h
IDLE_CONNS = PCB_POOL + 60
PER_IP_DEFAULT = 1024          # --max-conns-per-ip default
IDLE_ADDRS = [f"198.18.0.{100 + i}" for i in range(11)]  # under 1024 each


@pytest.fixture(scope="module")
def one_worker():
    s = Stack(TEST_NAME + "lim1", workers=1, primary_args="--listen 80:http")
    with s.running():
        _add_addrs(s, IDLE_ADDRS + [LEGIT_ADDR])
        yield s


def test_per_source_limit_refuses_one_address_not_another(one_worker):
    stack = one_worker
    _raise_nofile(2 * PER_IP_DEFAULT + 1024)
    base = stack.stats()["conn_limit_ip"] if "conn_limit_ip" in stack.stats() else 0
    n = PER_IP_DEFAULT + 100
    socks, refused = _open_many(stack, [IDLE_ADDRS[0]], n)
    try:
        # Refused at the SYN (ECONNREFUSED), or, for a handshake that was
        # in flight when the limit was reached, reset right after it.
        def established():
            return sum(1 for s in socks if _inq(s) >= 0)
        wait_until(lambda: established() <= PER_IP_DEFAULT, 10,
                   f"at most {PER_IP_DEFAULT} connections from one address to stay open")
        kept = established()
        print(f"\n[limits] {n} connections from one address: {kept} kept, "
              f"{refused} refused at the SYN, {len(socks) - kept} reset after the handshake")
        assert kept == PER_IP_DEFAULT, kept
        wait_until(lambda: stack.stats().get("conn_limit_ip", 0) - base >= n - kept, 10,
                   f"conn_limit_ip to count the {n - kept} refusals")
        assert _get(stack, LEGIT_ADDR, "/", scaled(10)) == 19
    finally:
        _close_all(stack, [s for s in socks if _inq(s) >= 0])
        for s in socks:
            s.close()
    wait_until(lambda: stack.stats()["tcp_active"] == 0, 30, "every connection to be gone")


def test_idle_connections_beyond_the_limit_do_not_lock_out_a_new_client(one_worker):
    stack = one_worker
    _raise_nofile(IDLE_CONNS + 1024)
    base = stack.stats()
    hung = []
    socks, refused = _open_many(stack, IDLE_ADDRS, IDLE_CONNS,
                                b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", timeout=60, hung=hung)
    try:
        # every answer arrived (or the connection was reset to make room)
        wait_until(lambda: all(_inq(s) != 0 for s in socks), 60,
                   "every idle connection to have its answer")
        got = _get(stack, LEGIT_ADDR, "/", scaled(10))
        st = stack.stats()
        print(f"\n[limits] {IDLE_CONNS} idle keep-alive connections: {len(socks)} opened, "
              f"{refused} refused, {len(hung)} never answered; new client: {got!r}; "
              f"conn_idle_evicted +{st.get('conn_idle_evicted', 0) - base.get('conn_idle_evicted', 0)}, "
              f"tcp_active {st['tcp_active']}; " + ", ".join(f"{k} +{st.get(k, 0) - base.get(k, 0)}" for k in ("tcp_accepted", "tcp_closed", "tcp_reset", "tcp_refused", "conn_limit", "conn_limit_ip", "mem_shed", "syn_evicted", "http_requests")))
        assert got == 19, got
        assert not hung and refused == 0
        assert st["conn_idle_evicted"] - base["conn_idle_evicted"] >= IDLE_CONNS + 1 - 8192
    finally:
        for s in hung:
            s.close()
        _close_all(stack, [s for s in socks if _inq(s) > 0])
        for s in socks:
            s.close()
    wait_until(lambda: stack.stats()["tcp_active"] == 0, 30, "every connection to be gone")
