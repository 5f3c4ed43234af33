"""No black holes. A queue whose worker is absent or dead is
adopted by a live worker, which serves its new connections, resets the
segments of connections that died with their worker, and hands the queue
back when the worker returns. One stack of its own: primary with 2 worker
slots over the tap; which queue the kernel gives a flow is its own choice,
so the tests count outcomes and read telemetry instead of assuming."""
import os
import signal
import threading
import time

import pytest

from mps import (PEER_IP, STACK_IP, TEST_NAME, Sniffer, Stack, echo_error, pid_alive, scaled,
                 wait_until)

ECHO = 7


@pytest.fixture(scope="module")
def astack():
    s = Stack(TEST_NAME + "a", workers=2)
    s.stop()
    s.script("primary", "2")
    s.start_worker(0)
    yield s
    s.stop()


def many(stack, n):
    """n sequential new connections; [] or the first failure (a black hole
    costs a connect timeout each, so stop there)."""
    for i in range(n):
        e = echo_error(stack, b"ping", 5)
        if e is not None:
            return [(i, e)]
    return []


def col(stack, key):
    return {int(k): v[key] for k, v in stack.workers_info().items()}


def settle(stack, pred, timeout, what):
    """Waits until pred(workers_info) holds; returns that snapshot, or on
    timeout the last one seen (the caller's assertions then say what is
    wrong with it)."""
    last = [None]

    def ok():
        last[0] = stack.workers_info()
        return pred(last[0])
    try:
        wait_until(ok, timeout, what)
    except AssertionError:
        pass
    return last[0]


def wait_polling(stack, wids):
    """Workers wids of a fresh stack poll their own queues (RUNNING, queue
    taken back, a first loop iteration done): start_worker returns at the
    "ready" line, before that; a frame is handed only to a RUNNING worker."""
    wait_until(lambda: (lambda info: all(
        info[str(w)]["state"] == "running" and info[str(w)]["iterations"] > 0 and
        info[str(w)]["adopted_by"] == -1 for w in wids))(stack.workers_info()),
        10, f"workers {wids} to poll their own queues")


def start_polling_worker(stack, wid):
    """(Re)starts worker wid and waits until it polls its own queue: the
    "ready" line that start_worker waits for comes before the worker is
    RUNNING and has taken its queue back; its first loop iteration
    (iterations is kept across restarts) comes after."""
    it0 = stack.workers_info()[str(wid)]["iterations"]
    stack.start_worker(wid)
    wait_until(lambda: (lambda w: w["state"] == "running" and w["iterations"] > it0
                        and w["adopted_by"] == -1)(stack.workers_info()[str(wid)]),
               10, f"worker {wid} to poll its own queue")


def conn_on_worker(stack, wid, tries=40):
    """An open echo connection that worker wid accepted (by its counter)."""
    for _ in range(tries):
        before = col(stack, "tcp_accepted")
        c = stack.connect(ECHO)
        c.sendall(b"a")
        assert c.recv(1) == b"a"
        after = col(stack, "tcp_accepted")
        if after[wid] > before[wid] and sum(after.values()) == sum(before.values()) + 1:
            return c
        c.close()
    raise AssertionError(f"no connection landed on worker {wid} in {tries} tries")


class Keeper(threading.Thread):
    """Keeps connections busy (one echo each every ~50 ms, so the tap
    keeps steering them where they live) and records any failure."""

    def __init__(self, conns):
        super().__init__(daemon=True)
        self.conns, self.errors, self.rounds = conns, [], 0
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            for i, c in enumerate(self.conns):
                try:
                    c.sendall(b"k")
                    if c.recv(1) != b"k":
                        self.errors.append((i, "closed"))
                except OSError as e:
                    self.errors.append((i, repr(e)))
            self.rounds += 1
            self.halt.wait(0.05)

    def stop(self):
        """Stops the rounds; errors is complete once this returns."""
        self.halt.set()
        # a round blocks at most a recv timeout (10 s) per connection
        self.join(10 * len(self.conns) + scaled(10))
        assert not self.is_alive(), "the keeper did not finish its round"


def test_missing_worker_queue_adopted(astack):
    """--workers 2, one secondary: every connection is served."""
    assert many(astack, 200) == []
    info = astack.workers_info()
    assert info["1"]["state"] == "free" and info["1"]["adopter"] == 0
    assert info["1"]["adopted_by"] == 0
    assert info["0"]["adopts"] == "1" and info["0"]["adopt_queues"] == 1
    assert info["0"]["tcp_accepted"] >= 200
    assert info["0"]["adopt_rx"] > 0, "the kernel put no flow on queue 1?"
    assert info["0"]["adopt_drop"] == 0
    assert astack.exec("ping", "-c", "3", "-i", "0.2", "-W", "5", STACK_IP).returncode == 0


def test_killed_worker_adopted_dead_connection_reset(astack):
    """SIGKILL worker 1 under load: its queue is adopted, its connections
    get a RST on their next segment, new connections all succeed."""
    start_polling_worker(astack, 1)
    victim_conn = conn_on_worker(astack, 1)
    victim_conn.settimeout(scaled(10))
    rst_before = col(astack, "adopt_rst")[0]

    load_errors, halt = [], threading.Event()

    def load():
        while not halt.is_set():
            e = echo_error(astack, b"ping", 10)
            if e is not None:
                load_errors.append((time.monotonic(), e))

    th = threading.Thread(target=load, daemon=True)
    th.start()
    t_kill = time.monotonic()
    os.kill(astack.pid("worker-1"), signal.SIGKILL)
    wait_until(lambda: astack.workers_info()["1"]["adopted_by"] == 0, 10,
               "worker 0 to adopt the dead worker's queue")
    adopted_after = time.monotonic() - t_kill
    halt.set()
    th.join(30)
    print(f"queue 1 adopted {adopted_after * 1000:.0f} ms after SIGKILL; "
          f"{len(load_errors)} in-flight connections failed")

    t0 = time.monotonic()
    with pytest.raises(ConnectionResetError):
        victim_conn.sendall(b"after")
        if victim_conn.recv(16) == b"":
            raise AssertionError("FIN, not RST")
    assert time.monotonic() - t0 < scaled(5), "reset took a retransmission timeout"
    victim_conn.close()
    wait_until(lambda: col(astack, "adopt_rst")[0] > rst_before, 5,
               "adopt_rst counted")
    assert many(astack, 50) == []


def test_restarted_worker_takes_queue_back(astack):
    """Worker 1 returns: connections opened during adoption keep working,
    new connections spread over both workers again."""
    if astack.workers_info()["1"]["state"] == "running":  # run alone
        os.kill(astack.pid("worker-1"), signal.SIGKILL)
    wait_until(lambda: astack.workers_info()["1"]["adopted_by"] == 0, 10,
               "worker 0 to adopt queue 1")
    adopt_rx = col(astack, "adopt_rx")[0]
    held = []
    for _ in range(16):
        c = astack.connect(ECHO)
        c.settimeout(10)
        held.append(c)
    keeper = Keeper(held)
    keeper.start()
    wait_until(lambda: keeper.rounds >= 2, 10, "held connections echoing")
    assert col(astack, "adopt_rx")[0] > adopt_rx, "no held connection went through queue 1"

    astack.start_worker(1)
    wait_until(lambda: astack.workers_info()["1"]["adopted_by"] == -1, 10,
               "queue 1 handed back to worker 1")
    wait_until(lambda: "handed back by worker 0" in astack.log("worker-1"), 5,
               "worker 1 to log the hand-back")
    before = col(astack, "tcp_accepted")
    r0 = keeper.rounds
    wait_until(lambda: keeper.rounds >= r0 + 3, 10, "held connections echoing after hand-back")
    keeper.stop()
    assert keeper.errors == []
    for c in held:
        c.close()

    assert many(astack, 40) == []
    after = col(astack, "tcp_accepted")
    assert after[0] > before[0] and after[1] > before[1], (before, after)
    info = astack.workers_info()
    assert info["0"]["adopts"] == "" and info["0"]["adopt_queues"] == 0


def test_adopted_flows_handed_to_live_workers():
    """3 slots, 2 workers: the adopter spreads queue 2's flows over both
    live workers by flow hash; the other worker serves what it is handed."""
    s = Stack(TEST_NAME + "b", workers=3)
    s.stop()
    try:
        s.script("primary", "3")
        s.start_worker(0)
        s.start_worker(1)
        wait_polling(s, (0, 1))
        assert many(s, 120) == []

        def handed(info):
            a = info["2"]["adopted_by"]
            return (a in (0, 1) and info[str(a)]["adopt_rx"] > 0 and
                    info[str(a)]["adopt_handed"] > 0 and
                    info[str(1 - a)]["adopt_ring_rx"] > 0)
        # (the last frames handed over, e.g. a FIN, may still be in the ring)
        info = settle(s, handed, 10, "queue 2's frames handed to the other worker")
        adopter = info["2"]["adopted_by"]
        assert adopter in (0, 1) and info["2"]["state"] == "free", info["2"]
        other = str(1 - adopter)
        adopter = str(adopter)
        assert info[adopter]["adopt_rx"] > 0
        assert info[adopter]["adopt_handed"] > 0
        assert info[other]["adopt_ring_rx"] > 0
        assert info[adopter]["adopt_drop"] == 0
    finally:
        s.stop()


def test_handback_waits_for_stopped_adopter(astack):
    """The adopter is SIGSTOPped holding queue 1's RX lock (maybe in mid
    rx_burst) when worker 1 returns: worker 1 must not poll its queue until
    the lock is let go, however long that takes, and must still obey a stop
    while it waits."""
    if astack.workers_info()["1"]["state"] == "running":
        os.kill(astack.pid("worker-1"), signal.SIGKILL)
    wait_until(lambda: astack.workers_info()["1"]["adopted_by"] == 0, 10,
               "worker 0 to adopt queue 1")
    adopter = astack.pid("worker-0")
    it0 = astack.workers_info()["1"]["iterations"]  # kept across restarts
    os.kill(adopter, signal.SIGSTOP)
    try:
        astack.start_worker(1)
        wait_until(lambda: "still held by adopter pid %d" % adopter in astack.log("worker-1"),
                   15, "worker 1 to report it is waiting for the lock")
        info = astack.workers_info()
        assert info["1"]["iterations"] == it0, "worker 1 polled while the adopter held its queue"
        assert info["1"]["adopted_by"] == 0

        w1 = astack.pid("worker-1")
        os.kill(w1, signal.SIGTERM)
        wait_until(lambda: not pid_alive(w1), 10, "worker 1 to stop while waiting")
        assert "stopped while adopter pid %d" % adopter in astack.log("worker-1")

        astack.start_worker(1)
        wait_until(lambda: "still held by adopter pid" in astack.log("worker-1"), 15,
                   "the restarted worker 1 to wait for the lock")
    finally:
        os.kill(adopter, signal.SIGCONT)
    # (adopter 0, or -1 if the primary had not named it again after the
    # first waiter cleared it)
    wait_until(lambda: "queue 1 handed back by worker" in astack.log("worker-1"), 10,
               "worker 1 to take its queue once the adopter let go")
    # The adopter counts its queues after it lets go of the lock worker 1
    # took: wait for the count itself.
    info = settle(astack, lambda i: i["1"]["adopted_by"] == -1 and i["0"]["adopt_queues"] == 0,
                  5, "worker 0 to stop adopting queue 1")
    assert info["1"]["adopted_by"] == -1 and info["0"]["adopt_queues"] == 0
    assert many(astack, 20) == []


def test_adopted_active_open_reply_goes_to_port_owner():
    """3 slots, 2 workers: a TCP segment for a local port of an active open
    (on net_tap the port names the worker that opened it) that lands on the
    adopted queue 2 goes to that worker, never by flow hash to the other.
    Bare ACKs to such ports from the kernel's address: no worker has the
    connection, so the worker they reach answers with a RST (adopt_rst)."""
    from scapy.all import IP, TCP, Ether, conf, sendp
    conf.verb = 0
    s = Stack(TEST_NAME + "c", workers=3)
    s.stop()
    try:
        s.script("primary", "3")
        s.start_worker(0)
        s.start_worker(1)
        wait_polling(s, (0, 1))
        assert s.exec("ping", "-c", "1", "-W", "5", STACK_IP).returncode == 0
        neigh = s.exec("ip", "neigh", "show", STACK_IP, "dev", "mps0").stdout.split()
        link = s.exec("ip", "-o", "link", "show", "mps0").stdout.split()
        mac, kmac = neigh[neigh.index("lladdr") + 1], link[link.index("link/ether") + 1]
        wait_until(lambda: s.workers_info()["2"]["adopted_by"] in (0, 1), 10,
                   "queue 2 adopted")
        a = s.workers_info()["2"]["adopted_by"]
        b = 1 - a
        keys = ("adopt_rx", "adopt_handed", "adopt_ring_rx", "adopt_rst", "rx_pkts")

        def snap():
            info = s.workers_info()
            return {k: [info[str(w)][k] for w in (0, 1)] for k in keys}

        with Sniffer(s, f"tcp and src host {STACK_IP} and dst host {PEER_IP} and "
                        "tcp[tcpflags] & tcp-rst != 0") as sn:
            for phase, (owner, sport0) in enumerate(((a, 20000), (b, 21000))):
                dport = next(p for p in range(40000, 40003) if p % 3 == owner)
                frames = [Ether(src=kmac, dst=mac) / IP(src=PEER_IP, dst=STACK_IP) /
                          TCP(sport=sport0 + i, dport=dport, flags="A", seq=1, ack=1)
                          for i in range(60)]
                sports = {sport0 + i for i in range(60)}
                before = snap()
                with s.netns():
                    sendp(frames, iface="mps0")
                # Every segment is answered by a RST (no worker has these
                # connections); once all are on the wire, nothing of this phase
                # is still in flight to be counted in the next one.
                wait_until(lambda: sports <= {p[TCP].dport for p in sn.frames(
                    lambda p: TCP in p and p[TCP].sport == dport)},
                    10, f"a RST for each of the {len(frames)} segments to port {dport}")

                def settled():
                    now = snap()
                    d = {k: [now[k][w] - before[k][w] for w in (0, 1)] for k in keys}
                    if sum(d["rx_pkts"]) >= len(frames) and sum(d["adopt_rst"]) == d["adopt_rx"][a]:
                        return d
                    return None
                d = wait_until(settled, 10, "every adopted segment answered")
                assert d["adopt_rx"][a] > 0, "the kernel put none of %d flows on queue 2" % len(frames)
                if owner == a:
                    assert d["adopt_handed"][a] == 0, ("segments for the adopter's port handed away", d)
                    assert d["adopt_rst"][a] == d["adopt_rx"][a], d
                else:
                    assert d["adopt_handed"][a] == d["adopt_rx"][a], ("segments not handed to their port's owner", d)
                    assert d["adopt_ring_rx"][b] == d["adopt_rx"][a], d
                    assert d["adopt_rst"][b] == d["adopt_rx"][a], d
    finally:
        s.stop()
