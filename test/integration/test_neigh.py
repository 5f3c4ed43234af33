"""The shared neighbour table between workers. A stack of its own
(primary + 2 workers, a /16 so thousands of on-link hosts exist, TTL 3 s,
a 1024-entry table, one static entry) and scapy hosts injected on the
kernel side of the tap. Which queue a frame lands on is the kernel's
choice, so tests find out from telemetry instead of assuming."""

import os
import signal

import pytest
from scapy.all import ARP, ICMP, IP, TCP, Ether, conf, rdpcap, sendp, wrpcap

from mps import STACK_IP, TEST_NAME, Sniffer, Stack, wait_until

conf.verb = 0
IFACE = "mps0"
TTL = 3
STATIC_IP, STATIC_MAC = "198.18.0.250", "02:00:00:00:00:fa"


@pytest.fixture(scope="module")
def nstack():
    s = Stack(TEST_NAME + "n", workers=2,
              primary_args=f"--ip {STACK_IP}/16 --neigh-ttl {TTL} "
                           f"--neigh-entries 1024 --neigh {STATIC_IP}={STATIC_MAC}")
    with s.running():
        s.learn_stack_mac(IFACE)
        yield s


def send(stack, frames):
    with stack.netns():
        sendp(frames, iface=IFACE)


def host(i):
    """An on-link scapy host: 198.18.<i>/16 address, a MAC of its own."""
    return f"198.18.{100 + i // 250}.{1 + i % 250}", f"02:00:5e:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}"


def test_static_entry_listed_and_never_aged(nstack):
    e = nstack.neigh(STATIC_IP)
    assert e and e["mac"].lower() == STATIC_MAC and e["static"] == 1
    assert e["learned_by"] == -1
    st = nstack.telemetry("/mps/neigh_stats")
    assert st["static"] == 1 and st["ttl_s"] == TTL and st["capacity"] == 1024
    # Still there after several TTLs (waits on the aging of another entry).
    ip, mac = host(9000)
    send(nstack, Ether(src=mac, dst=nstack.mac) / IP(src=ip, dst=STACK_IP) / ICMP())
    wait_until(lambda: nstack.neigh(ip), 10, "host learned")
    wait_until(lambda: not nstack.neigh(ip), 3 * TTL + 10, "host aged out")
    assert nstack.neigh(STATIC_IP)["static"] == 1


def test_learned_entry_ages_out_and_is_reclaimed(nstack):
    ip, mac = host(1)
    before = nstack.telemetry("/mps/neigh_stats")
    send(nstack, Ether(src=mac, dst=nstack.mac) / IP(src=ip, dst=STACK_IP) / ICMP())
    e = wait_until(lambda: nstack.neigh(ip), 10, "host learned")
    assert e["mac"].lower() == mac and e["static"] == 0
    assert e["learned_by"] in (0, 1) and e["age_s"] <= TTL
    wait_until(lambda: not nstack.neigh(ip), TTL + 10, "entry expired")
    # Lookups miss an expired entry at once; the primary deletes it on its
    # next aging pass (expired) and frees its slot after a grace period
    # (freed). Wait for both, not for one as a proxy of the other (the
    # kernel's own address ages out alongside, so freed alone may move for
    # an entry expired earlier).
    after = wait_until(
        lambda: (lambda s: s if s["expired"] > before["expired"] and
                 s["freed"] >= s["expired"] else None)(
            nstack.telemetry("/mps/neigh_stats")), 10, "entry deleted and its slot freed")
    assert after["freed"] > before["freed"]


def reclaim_while_stopped(stack, i, pid):
    """Learns host i, stops pid, waits until the host's entry expired and
    its slot was freed while pid is stopped; resumes pid. The
    /mps/neigh_stats before and after."""
    ip, mac = host(i)
    send(stack, Ether(src=mac, dst=stack.mac) / IP(src=ip, dst=STACK_IP) / ICMP())
    wait_until(lambda: stack.neigh(ip), 10, f"host {ip} learned")
    before = stack.telemetry("/mps/neigh_stats")
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_until(lambda: not stack.neigh(ip), TTL + 10, "entry expired")
        after = wait_until(
            lambda: (lambda s: s if s["expired"] > before["expired"] and
                     s["freed"] >= s["expired"] else None)(
                stack.telemetry("/mps/neigh_stats")), 20,
            "entry deleted and its slot freed while a worker is stopped")
    finally:
        os.kill(pid, signal.SIGCONT)
    return before, after


def test_aging_goes_on_while_a_worker_is_stopped(nstack):
    """A worker stopped by a signal (or a debugger) reports no quiescent
    state: after a bound the primary stops waiting for it, so expired
    entries are still deleted and their slots freed; once it runs again it
    is back online, and waited for again: stopped a second time, it is
    taken offline a second time (the primary skips readers already
    offline)."""
    stopped = nstack.pid("worker-1")
    online = nstack.counters("neigh_qs_online")[1]
    before, after = reclaim_while_stopped(nstack, 2, stopped)
    assert after["offlined"] > before["offlined"]
    wait_until(lambda: nstack.counters("neigh_qs_online")[1] > online, 10,
               "worker 1 back online for the reclaim")
    online = nstack.counters("neigh_qs_online")[1]
    before, again = reclaim_while_stopped(nstack, 3, stopped)
    assert again["offlined"] > after["offlined"]
    wait_until(lambda: nstack.counters("neigh_qs_online")[1] > online, 10,
               "worker 1 back online after the second stop")


def test_new_host_on_worker_a_lets_worker_b_answer_without_arp(nstack):
    """An IPv4 frame from a new host lands on worker A; worker B answers
    that host's SYN from the shared table: no ARP request from the stack."""
    ip, mac = host(2)
    send(nstack, Ether(src=mac, dst=nstack.mac) / IP(src=ip, dst=STACK_IP) / ICMP())
    a = wait_until(lambda: nstack.neigh(ip), 10, "host learned")["learned_by"]
    b = 1 - a
    with Sniffer(nstack, f"arp or (tcp and ether dst {mac})") as sn:
        for sport in range(40000, 40064):
            hits = nstack.counters("neigh_hit")
            send(nstack, Ether(src=mac, dst=nstack.mac) /
                 IP(src=ip, dst=STACK_IP) / TCP(sport=sport, dport=7, flags="S", seq=1))
            # The SYN-ACK on the wire (the counter moves before it is sent).
            synack = sn.wait(lambda p, sp=sport: TCP in p and p[TCP].dport == sp and
                             p[TCP].flags == "SA", 10, f"SYN-ACK to port {sport}")[0]
            now = nstack.counters("neigh_hit")
            send(nstack, Ether(src=mac, dst=nstack.mac) / IP(src=ip, dst=STACK_IP) /
                 TCP(sport=sport, dport=7, flags="R", seq=2))
            if now[b] > hits[b]:
                break
        else:
            pytest.fail("no SYN landed on the other worker in 64 tries")
    assert synack[Ether].dst.lower() == mac
    # An ARP request would have had to leave (and be answered) before it.
    arps = sn.frames(lambda p: ARP in p and p[ARP].op == 1 and p[ARP].psrc == STACK_IP)
    assert not arps, f"stack asked by ARP: {arps}"


def test_gratuitous_arp_moves_host_and_is_fanned_out(nstack):
    ip, mac1 = host(3)
    mac2 = "02:00:5e:aa:bb:03"
    send(nstack, Ether(src=mac1, dst=nstack.mac) / IP(src=ip, dst=STACK_IP) / ICMP(id=1))
    wait_until(lambda: (nstack.neigh(ip) or {}).get("mac", "").lower() == mac1, 10,
               "old MAC learned")
    ring_tx, ring_rx = nstack.counters("ring_tx"), nstack.counters("ring_rx")
    send(nstack, Ether(src=mac2, dst="ff:ff:ff:ff:ff:ff") /
         ARP(op=1, hwsrc=mac2, psrc=ip, hwdst="00:00:00:00:00:00", pdst=ip))
    wait_until(lambda: (nstack.neigh(ip) or {}).get("mac", "").lower() == mac2, 10,
               "new MAC picked up")
    # The worker that got the gratuitous ARP copied it to the other one.
    wait_until(lambda: any(t > o for t, o in zip(nstack.counters("ring_tx"), ring_tx)),
               10, "fan-out sent")
    wait_until(lambda: any(r > o for r, o in zip(nstack.counters("ring_rx"), ring_rx)),
               10, "fan-out received")
    # Replies go to the new MAC: a request still sent from the old one (to
    # the broadcast address, so nothing is learned from it) is answered
    # through the table.
    with Sniffer(nstack, "icmp") as sn:
        send(nstack, Ether(src=mac1, dst="ff:ff:ff:ff:ff:ff") /
             IP(src=ip, dst=STACK_IP) / ICMP(id=2))
        replies = sn.wait(lambda p: p[ICMP].type == 0 and p[ICMP].id == 2, 10,
                          "echo reply")
    assert replies[0][Ether].dst.lower() == mac2


def test_2000_hosts_fill_and_recycle_the_table(nstack, tmp_path):
    n = 2000
    frames = [Ether(src=m, dst=nstack.mac) / IP(src=i, dst=STACK_IP) / ICMP()
              for i, m in (host(10000 + k) for k in range(n))]
    pcap = tmp_path / "hosts.pcap"
    wrpcap(str(pcap), frames)

    def totals():
        s = nstack.telemetry("/mps/neigh_stats")
        return s["neigh_learned"], s["neigh_full"], s["expired"]

    l0, f0, e0 = totals()
    send(nstack, rdpcap(str(pcap)))
    wait_until(lambda: sum(totals()[:2]) - l0 - f0 >= n, 30, "every host counted")
    l1, f1, e1 = totals()
    assert l1 - l0 + f1 - f0 == n
    assert f1 > f0, "a 1024-entry table took 2000 hosts"
    assert l1 - l0 >= 512
    # After the TTL the primary reclaims them and the table takes new hosts.
    wait_until(lambda: totals()[2] - e0 >= l1 - l0, 3 * TTL + 20, "hosts reclaimed")
    send(nstack, rdpcap(str(pcap))[:500])
    wait_until(lambda: totals()[0] - l1 >= 500, 30, "hosts learned again")
    assert totals()[1] == f1
    r = nstack.exec("ping", "-c", "1", "-W", "5", STACK_IP)
    assert r.returncode == 0
    assert all(w["state"] == "running" for w in nstack.workers_info().values())
