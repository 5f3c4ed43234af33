"""The two cases net_tap hides: an ARP reply that lands on one
queue must release the SYN another worker queued behind its own ARP
request (the fan-out over the rings), and a worker announces itself with a
gratuitous ARP when it starts.

net_tap gives every ARP frame the same flow hash, so the kernel sends one
to the queue that last sent an ARP frame: normally the worker that asked.
Here both workers ask at once for 198.18.0.77, an address the kernel owns
(on lo) but does not answer ARP for (arp_ignore=1 on the tap), and the test
answers for the kernel with one injected reply. It lands on exactly one
queue; the other worker only hears of it through its ring. With an initial
RTO of 10 s neither worker retransmits its SYN during the check, and the
shared table cannot help either (it is read only when lwIP sends), so both
SYNs leave within a fraction of the RTO only if the fan-out works."""
import json
import socketserver
import threading
import time

import pytest
from scapy.all import ARP, TCP, Ether, conf, sendp

from mps import STACK_IP, TEST_NAME, Sniffer, Stack, scaled, wait_until

conf.verb = 0
IFACE = "mps0"
GHOST = "198.18.0.77"   # the kernel's, on lo, never answered by ARP
RTO_MS = 10000          # SYN_SENT keeps lwIP's initial RTO: no back-off
FAST_S = 2.0            # both SYNs must leave this soon after the reply
assert scaled(FAST_S) < 0.75 * RTO_MS / 1000, "stress scale would hide a retransmission"


def kernel_mac(stack):
    link = json.loads(stack.exec("ip", "-j", "link", "show", IFACE, check=True).stdout)
    return link[0]["address"]


def sysctl(stack, *kv):
    stack.exec("sysctl", "-qw", *kv, check=True)


def kernel_neigh_mac(stack, ip):
    out = stack.exec("ip", "-j", "neigh", "show", ip, "dev", IFACE).stdout
    return next((n["lladdr"] for n in json.loads(out or "[]") if n.get("lladdr")), None)


class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(4096):
            self.request.sendall(data)


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


@pytest.fixture
def fstack():
    """Primary with 2 slots, no worker yet (the tests start them)."""
    s = Stack(TEST_NAME + "f", workers=2,
              primary_args=f"--connect {GHOST}:7:echo --rto-init {RTO_MS}")
    s.stop()
    s.script("primary", "2")
    yield s
    s.stop()


def start_workers_together(stack, ids):
    """Starts the workers at the same moment (mps-run.sh waits for each)."""
    errs = []

    def one(wid):
        try:
            stack.start_worker(wid)
        except AssertionError as e:
            errs.append(e)

    threads = [threading.Thread(target=one, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errs, errs


def test_arp_reply_on_one_queue_releases_both_workers_syns(fstack):
    s = fstack
    kmac = kernel_mac(s)
    s.exec("ip", "addr", "add", f"{GHOST}/32", "dev", "lo", check=True)
    sysctl(s, f"net.ipv4.conf.{IFACE}.arp_ignore=1",
           f"net.ipv4.conf.{IFACE}.arp_announce=2")
    with s.netns():
        server = _Server((GHOST, 7), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sn = Sniffer(s, f"arp or (tcp and host {GHOST})")
    try:
        start_workers_together(s, (0, 1))
        # Each worker's SYN waits in lwIP's ARP queue behind one request.
        asks = wait_until(
            lambda: (lambda a: a if len(a) >= 2 else None)(
                [p for p in sn.seen if ARP in p and p[ARP].op == 1 and
                 p[ARP].pdst == GHOST]), 20, "both workers' ARP requests")
        wait_until(lambda: min(s.counters("neigh_miss")) >= 1, 10,
                   "both workers missed the shared table")
        t0 = time.time()
        # lwIP drops a pending ARP entry after ~5 s; both must still be there.
        assert t0 - asks[0].time < 3.5, "workers started too far apart"
        assert not [p for p in sn.seen if TCP in p], "a SYN left before the reply"
        with s.netns():
            sendp(Ether(src=kmac, dst=asks[0][Ether].src) /
                  ARP(op=2, hwsrc=kmac, psrc=GHOST, hwdst=asks[0][Ether].src,
                      pdst=STACK_IP), iface=IFACE)

        def syns():
            got = {}
            for p in sn.seen:
                if TCP in p and p[TCP].flags == "S" and p[Ether].dst == kmac:
                    got.setdefault(p[TCP].sport % 2, p.time)  # port names the worker
            return got if len(got) == 2 else None
        got = wait_until(syns, 30, "both workers' SYNs")
        # Which queue the reply landed on: the worker that learned it first.
        receiver = s.neigh(GHOST)["learned_by"]
        print(f"reply landed on worker {receiver}; SYNs left after "
              + ", ".join(f"w{w} {1000 * (t - t0):.0f} ms" for w, t in sorted(got.items())))
        late = {w: t - t0 for w, t in got.items() if t - t0 > scaled(FAST_S)}
        assert not late, f"SYNs waited for a retransmission (RTO {RTO_MS} ms): {late}"
        assert s.counters("ring_rx")[1 - receiver] >= 1
        # And the connections complete: echo round trips on both workers.
        wait_until(lambda: min(s.counters("client_done")) >= 1, 30,
                   "both workers' echo clients done")
        assert s.counters("tcp_connect_fail") == [0, 0]
    finally:
        sn.stop()
        server.shutdown()
        server.server_close()


def test_gratuitous_arp_when_the_first_worker_starts(fstack):
    s = fstack
    # Linux only adds a neighbour from an unsolicited ARP with arp_accept.
    sysctl(s, f"net.ipv4.conf.{IFACE}.arp_accept=1")
    assert kernel_neigh_mac(s, STACK_IP) is None
    sn = Sniffer(s, "arp")
    try:
        s.start_worker(0)
        garp = wait_until(
            lambda: [p for p in sn.seen if p[ARP].psrc == STACK_IP and
                     p[ARP].pdst == STACK_IP], 10, "gratuitous ARP")[0]
    finally:
        sn.stop()
    mac = garp[ARP].hwsrc
    assert garp[Ether].src == mac and garp[Ether].dst == "ff:ff:ff:ff:ff:ff"
    # The kernel learned our MAC from it, before any traffic to the stack.
    assert wait_until(lambda: kernel_neigh_mac(s, STACK_IP), 5, "kernel entry") == mac
    assert sum(s.counters("rx_pkts")) == 0
    assert not [p for p in sn.seen if p[ARP].op == 1 and p[ARP].psrc != STACK_IP]
