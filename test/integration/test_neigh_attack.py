"""The segment is hostile: what a host on it can do to the shared
neighbour table (README, Neighbour learning). A stack of its own (primary +
2 workers, a /16 so thousands of on-link hosts exist, --gateway
198.18.0.1, the kernel's address on the tap) and frames injected on the
kernel side through a raw socket opened once (sub-millisecond sends, so
the locktime checks are not at the mercy of scapy's start-up).

Each test fails on the code before the learning rules (recorded in the
commit that added them): spoofed IPv4 frames moved the gateway's entry,
ARP replies moved entries at once, no probe was sent, and every frame of
a flood was a table write."""
import json
import socket
import struct
import time

import pytest
from scapy.all import ARP, ICMP, IP, Ether, conf

from mps import PEER_IP, STACK_IP, TEST_NAME, Sniffer, Stack, echo_once, scaled, wait_until

conf.verb = 0
IFACE = "mps0"
EVIL = "02:00:00:0e:71:01"


@pytest.fixture(scope="module")
def astack():
    # The locktime is a time bound of the tests below (a reply must come
    # well inside it, a gratuitous ARP within it): scaled like the others.
    s = Stack(TEST_NAME + "na", workers=2,
              primary_args=f"--ip {STACK_IP}/16 --gateway {PEER_IP} "
                           f"--neigh-locktime {int(scaled(2000))}")
    with s.running():
        s.learn_stack_mac(IFACE)
        link = json.loads(s.exec("ip", "-j", "link", "show", IFACE, check=True).stdout)
        s.kmac = link[0]["address"].lower()
        # The kernel's ping resolved us: the gateway is in the table.
        wait_until(lambda: mac_of(s, PEER_IP) == s.kmac, 10, "gateway learned")
        yield s


@pytest.fixture(scope="module")
def raw(astack):
    """A raw socket on the kernel side of the tap."""
    with astack.netns():
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((IFACE, 0))

    class Raw:
        def send(self, *frames):
            for f in frames:
                sock.send(f if isinstance(f, (bytes, bytearray)) else bytes(f))
    yield Raw()
    sock.close()


def mac_of(stack, ip):
    return (stack.neigh(ip) or {}).get("mac", "").lower() or None


def total(stack, key):
    """key summed over the workers (0 where a binary lacks it)."""
    return sum(w.get(key, 0) for w in stack.workers_info().values())


def per_worker(stack, *keys):
    return {wid: sum(w.get(k, 0) for k in keys) for wid, w in stack.workers_info().items()}


def host(i):
    """An on-link host for one test (198.18.200.0/24: no other test's)."""
    return f"198.18.200.{1 + i}", f"02:00:5e:c8:00:{i:02x}"


def locktime_s(stack):
    return stack.telemetry("/mps/neigh_stats").get("locktime_ms", 1000) / 1000


def test_spoofed_ipv4_from_the_gateway_does_not_move_it(astack, raw):
    """The measured attack: 8 ICMP echo requests from 198.18.0.1 (the
    gateway) with another MAC. The entry stays the kernel's, the stack's
    replies go to the kernel's MAC, the conflicts are counted, and the
    stack asks who has 198.18.0.1 (the kernel answers with its own MAC)."""
    s, n = astack, 8
    before = mac_of(s, PEER_IP)
    c0 = total(s, "neigh_conflict")
    with Sniffer(s, "icmp or arp") as sn:
        raw.send(*[Ether(src=EVIL, dst=s.mac) / IP(src=PEER_IP, dst=STACK_IP) /
                   ICMP(type=8, id=0x5151, seq=i) for i in range(n)])
        replies = sn.wait(lambda p: ICMP in p and p[ICMP].type == 0 and
                          p[ICMP].id == 0x5151, 10, "echo replies to the spoofed requests",
                          count=n)
    after = mac_of(s, PEER_IP)
    dsts = sorted({p[Ether].dst.lower() for p in replies})
    print(f"{n} spoofed frames from {PEER_IP} as {EVIL}: entry {before} -> {after}; "
          f"replies to {dsts}; conflicts +{total(s, 'neigh_conflict') - c0}")
    assert before == s.kmac
    assert after == s.kmac, f"spoofed IPv4 frames moved the gateway to {after}"
    assert dsts == [s.kmac], f"replies went to {dsts}"
    assert total(s, "neigh_conflict") - c0 >= n
    probes = sn.frames(lambda p: ARP in p and p[ARP].op == 1 and
                       p[ARP].psrc == STACK_IP and p[ARP].pdst == PEER_IP)
    # At most one per worker that saw them (one per address per second).
    assert 1 <= len(probes) <= s.workers, f"probes for the gateway: {len(probes)}"


def test_arp_reply_waits_for_the_locktime_gratuitous_arp_does_not(astack, raw):
    s = astack
    ip, mac1 = host(1)
    mac2, mac3 = "02:00:5e:c8:01:02", "02:00:5e:c8:01:03"
    lock = locktime_s(s)
    # Created from an IPv4 frame (an echo reply: the stack answers nothing).
    t0 = time.monotonic()
    raw.send(Ether(src=mac1, dst=s.mac) / IP(src=ip, dst=STACK_IP) / ICMP(type=0, id=1))
    wait_until(lambda: mac_of(s, ip) == mac1, 10, "host created from IPv4")
    c0 = total(s, "neigh_conflict")
    reply = Ether(src=mac2, dst=s.mac) / ARP(op=2, hwsrc=mac2, psrc=ip, hwdst=s.mac,
                                             pdst=STACK_IP)
    raw.send(reply)
    t1 = time.monotonic()
    assert t1 - t0 < 0.8 * lock, f"the reply left {t1 - t0:.3f} s after the creation: too close to the locktime"
    wait_until(lambda: total(s, "neigh_conflict") > c0 or mac_of(s, ip) != mac1, 10,
               "the ARP reply processed")
    got = mac_of(s, ip)
    print(f"ARP reply {t1 - t0:.3f} s after the creation: entry {mac1} -> {got}")
    assert got == mac1, "an ARP reply within the locktime moved the entry"

    # After the locktime the same reply is accepted. Resent until then;
    # `prev` is the last time the old MAC was still seen.
    seen = {}

    def resend_until_moved():
        now = time.monotonic()
        if mac_of(s, ip) == mac2:
            return now
        seen["prev"] = now
        raw.send(reply)
        return None
    t2 = wait_until(resend_until_moved, 10, "the reply accepted after the locktime",
                    interval=0.1)
    print(f"accepted {t2 - t0:.3f} s after the creation (locktime {lock} s)")
    assert t2 - t0 >= lock

    # A gratuitous ARP moves it at once: failover, within the locktime of
    # that change (which came after `prev`).
    raw.send(Ether(src=mac3, dst="ff:ff:ff:ff:ff:ff") /
             ARP(op=1, hwsrc=mac3, psrc=ip, hwdst="00:00:00:00:00:00", pdst=ip))
    t4 = wait_until(lambda: mac_of(s, ip) == mac3 and time.monotonic(), 10,
                    "the gratuitous ARP moved it")
    assert t4 - seen["prev"] < lock, "not a test of the locktime: too slow"


def test_new_mac_in_ipv4_is_probed_and_the_answer_wins(astack, raw):
    s = astack
    ip, mac1 = host(3)
    mac2 = "02:00:5e:c8:03:02"
    raw.send(Ether(src=mac1, dst=s.mac) / IP(src=ip, dst=STACK_IP) / ICMP(type=0, id=3))
    wait_until(lambda: mac_of(s, ip) == mac1, 10, "host created from IPv4")
    # The answer is an ARP reply: let the creation get older than the
    # locktime (age_s is whole seconds: age > lock + 1 s means > lock).
    lock = locktime_s(s)
    wait_until(lambda: (s.neigh(ip) or {}).get("age_s", 0) >= lock + 1, 10 + lock,
               "entry older than the locktime")
    with Sniffer(s, "arp") as sn:
        raw.send(Ether(src=mac2, dst=s.mac) / IP(src=ip, dst=STACK_IP) / ICMP(type=0, id=4))
        req = sn.wait(lambda p: p[ARP].op == 1 and p[ARP].psrc == STACK_IP and
                      p[ARP].pdst == ip, 10, f"the stack's ARP request for {ip}")[0]
    assert mac_of(s, ip) == mac1, "the IPv4 frame itself moved the entry"
    raw.send(Ether(src=mac2, dst=req[Ether].src) /
             ARP(op=2, hwsrc=mac2, psrc=ip, hwdst=req[ARP].hwsrc, pdst=STACK_IP))
    wait_until(lambda: mac_of(s, ip) == mac2, 10, "the MAC that answered won")


def _ip_csum(hdr):
    v = sum(struct.unpack("!10H", hdr))
    v = (v & 0xffff) + (v >> 16)
    v = (v & 0xffff) + (v >> 16)
    return ~v & 0xffff


def flood_frames(stack, n):
    """n ICMP echo replies (the stack answers none) from n new on-link
    sources, 198.18.16.1 upwards, each with its own MAC."""
    tpl = bytearray(bytes(Ether(src="02:01:00:00:00:00", dst=stack.mac) /
                          IP(src="198.18.16.1", dst=STACK_IP, ttl=64) /
                          ICMP(type=0, id=0x4242)))
    out = []
    for i in range(n):
        f = bytearray(tpl)
        f[6:12] = b"\x02\x01" + i.to_bytes(4, "big")
        f[26:30] = bytes((198, 18, 16 + i // 250, 1 + i % 250))
        f[24:26] = b"\0\0"
        f[24:26] = _ip_csum(bytes(f[14:34])).to_bytes(2, "big")
        out.append(bytes(f))
    return out


def test_flood_of_new_sources_is_rate_limited(astack, raw):
    """40,000 new sources in 2.5 s: each worker writes at most its burst
    plus its rate for the time elapsed; the rest is counted refused; the
    stack still serves."""
    s, n, pps = astack, 40000, 16000
    st = s.telemetry("/mps/neigh_stats")
    rate, burst = st.get("write_rate", 1024), st.get("write_burst", 4096)
    frames = flood_frames(s, n)
    keys = ("neigh_learned", "neigh_refreshed", "neigh_full")
    w0, r0 = per_worker(s, *keys), total(s, "neigh_ratelimited")
    rx0 = per_worker(s, "rx_pkts")
    t0 = time.monotonic()
    for i in range(0, n, 200):
        raw.send(*frames[i:i + 200])
        # Paced so the tap's queue (1000 frames) keeps up: not a wait.
        ahead = t0 + (i + 200) / pps - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    w1 = per_worker(s, *keys)
    elapsed = time.monotonic() - t0
    rx = {k: v - rx0[k] for k, v in per_worker(s, "rx_pkts").items()}
    writes = {k: v - w0[k] for k, v in w1.items()}
    bound = burst + rate * elapsed + 50  # + the few frames of the kernel's own
    print(f"{n} frames from new sources in {elapsed:.2f} s; received {rx}; "
          f"table writes {writes} (bound {bound:.0f} per worker)")
    assert all(v <= bound for v in writes.values()), \
        f"table writes {writes} above {bound:.0f} per worker"
    r1 = wait_until(lambda: (lambda v: v if v > r0 else None)(total(s, "neigh_ratelimited")),
                    10, "refused writes counted")
    print(f"refused: {r1 - r0}")
    # A worker that received more new sources than its budget refused some.
    assert any(rx[k] > bound for k in rx), f"the flood did not exceed a budget: {rx}"
    assert echo_once(s)
    assert all(w["state"] == "running" for w in s.workers_info().values())
    assert mac_of(s, PEER_IP) == s.kmac
