"""--vlan. The peer is a scapy host on VLAN 100 on the kernel
side of the tap (this machine's kernel has no 8021q module, so a VLAN
sub-interface of the tap cannot be made; where it can, `ip link add link
mps0 name mps0.100 type vlan id 100` works the same way). net_tap has no
VLAN strip/insert offloads, so the workers untag and tag in software: ARP,
ping and TCP are answered on VLAN 100, and frames untagged or of another
VLAN are dropped as "vlan"."""
import pytest
from scapy.all import ARP, ICMP, IP, TCP, Dot1Q, Ether, conf, sendp

from mps import STACK_IP, TEST_NAME, Sniffer, Stack, wait_until

conf.verb = 0
IFACE, VID = "mps0", 100
HOST_IP, HOST_MAC = "198.18.0.60", "02:00:5e:00:01:64"


@pytest.fixture(scope="module")
def vstack():
    s = Stack(TEST_NAME + "v", workers=2, primary_args=f"--vlan {VID}")
    with s.running():
        yield s


def exchange(stack, frames, flt, done):
    """Sends frames from the VLAN host; returns what the stack sent it once
    done(seen) holds."""
    with Sniffer(stack, flt) as sn:
        with stack.netns():
            sendp(frames, iface=IFACE)
        wait_until(lambda: done(sn.frames()), 10, f"answer to {frames!r}")
    return sn.frames()


def tagged(l3, vid=VID, dst="ff:ff:ff:ff:ff:ff"):
    return Ether(src=HOST_MAC, dst=dst) / Dot1Q(vlan=vid) / l3


def test_arp_ping_tcp_on_vlan(vstack):
    flt = f"ether dst {HOST_MAC}"
    seen = exchange(vstack, tagged(ARP(op=1, hwsrc=HOST_MAC, psrc=HOST_IP,
                                       pdst=STACK_IP)),
                    flt, lambda s: any(ARP in p for p in s))
    reply = [p for p in seen if ARP in p][0]
    assert reply[Dot1Q].vlan == VID and reply[ARP].op == 2
    mac = reply[ARP].hwsrc
    seen = exchange(vstack, tagged(IP(src=HOST_IP, dst=STACK_IP) / ICMP(id=7),
                                   dst=mac),
                    flt, lambda s: any(ICMP in p for p in s))
    assert [p[Dot1Q].vlan for p in seen if ICMP in p] == [VID]
    seen = exchange(vstack, tagged(IP(src=HOST_IP, dst=STACK_IP) /
                                   TCP(sport=42000, dport=80, flags="S", seq=1),
                                   dst=mac),
                    flt, lambda s: any(TCP in p for p in s))
    synack = [p for p in seen if TCP in p][0]
    assert synack[Dot1Q].vlan == VID and synack[TCP].flags == "SA"
    with vstack.netns():
        sendp(tagged(IP(src=HOST_IP, dst=STACK_IP) /
                     TCP(sport=42000, dport=80, flags="R", seq=2), dst=mac),
              iface=IFACE)
    st = vstack.stats()
    assert st["rx_vlan_sw"] >= 3 and st["tx_vlan_sw"] >= 3
    assert vstack.telemetry("/mps/config")["vlan"] == VID


def test_untagged_and_other_vlan_dropped(vstack):
    before = vstack.stats()["rx_drop_vlan"]
    ping = IP(src=HOST_IP, dst=STACK_IP) / ICMP(id=8)
    with vstack.netns():
        sendp([Ether(src=HOST_MAC) / ping, tagged(ping, vid=VID + 1)], iface=IFACE)
    wait_until(lambda: vstack.stats()["rx_drop_vlan"] >= before + 2, 10,
               "untagged and VLAN 101 frames dropped as vlan")


ECHO = 7
SYN, RST = 0x02, 0x04


def stack_mac(stack):
    """The stack's MAC, from its answer to an ARP request on VLAN 100."""
    seen = exchange(stack, tagged(ARP(op=1, hwsrc=HOST_MAC, psrc=HOST_IP, pdst=STACK_IP)),
                    f"ether dst {HOST_MAC}", lambda s: any(ARP in p for p in s))
    return [p for p in seen if ARP in p][0][ARP].hwsrc


def to_host(sport):
    """A frame the stack sent from its echo port to our port sport."""
    return lambda p: TCP in p and p[TCP].sport == ECHO and p[TCP].dport == sport


def vlan_echo(stack, sn, mac, sport, payload, nops=0):
    """One TCP connection played by the VLAN host with scapy: handshake
    (nops: NOP options in the SYN, which change its length), payload sent,
    the echo received and acknowledged, then a RST. Returns every frame the
    stack sent on it; fails at the first RST."""
    ip = IP(src=HOST_IP, dst=STACK_IP)
    mine = to_host(sport)
    syn = TCP(sport=sport, dport=ECHO, flags="S", seq=1000,
              options=[("NOP", None)] * nops + [("MSS", 1400)])
    with stack.netns():
        sendp(tagged(ip / syn, dst=mac), iface=IFACE)
    sa = sn.wait(lambda p: mine(p) and int(p[TCP].flags) & (SYN | RST), 10,
                 f"SYN-ACK to port {sport}")[0]
    assert sa[TCP].flags == "SA", f"port {sport}: {sa[TCP].flags} to our SYN"
    ack = sa[TCP].seq + 1
    with stack.netns():
        sendp([tagged(ip / TCP(sport=sport, dport=ECHO, flags="A", seq=1001, ack=ack),
                      dst=mac),
               tagged(ip / TCP(sport=sport, dport=ECHO, flags="PA", seq=1001, ack=ack) /
                      payload, dst=mac)], iface=IFACE)
    got = sn.wait(lambda p: mine(p) and (len(bytes(p[TCP].payload)) > 0 or
                                         int(p[TCP].flags) & RST),
                  10, f"the echo on port {sport}")[0]
    assert not int(got[TCP].flags) & RST, \
        f"port {sport}: {got[TCP].flags} to our first data segment"
    assert bytes(got[TCP].payload) == payload, got
    with stack.netns():
        sendp([tagged(ip / TCP(sport=sport, dport=ECHO, flags="A", seq=1001 + len(payload),
                               ack=got[TCP].seq + len(payload)), dst=mac),
               tagged(ip / TCP(sport=sport, dport=ECHO, flags="R", seq=1001 + len(payload)),
                      dst=mac)], iface=IFACE)
    return sn.frames(mine)


def test_tcp_data_both_ways_on_vlan_two_workers(vstack):
    """Several connections from the VLAN host to the echo app, until both
    workers accepted some: each carries data both ways (the first data
    segment echoed, never reset), every frame of the stack's on VLAN 100.
    The tap picks a queue for each frame the host sends; the handshake and
    the data of one connection need not land on the same one. SYNs and
    payloads of several lengths, as the kernel hashes these frames' IP
    length."""
    mac = stack_mac(vstack)
    before = {k: v["tcp_accepted"] for k, v in vstack.workers_info().items()}
    st0 = vstack.stats()
    done = []
    with Sniffer(vstack, f"ether dst {HOST_MAC}") as sn:
        def both_served():
            i = len(done)
            sport = 46000 + i
            frames = vlan_echo(vstack, sn, mac, sport, b"vlan echo %d\n" % i + b"." * (i % 5),
                               nops=4 * (i % 7))
            assert all(Dot1Q in p and p[Dot1Q].vlan == VID for p in frames), frames
            done.append(sport)
            now = vstack.workers_info()
            return len(done) >= 8 and all(now[k]["tcp_accepted"] > before[k] for k in now)
        wait_until(both_served, 60, "echo connections on VLAN 100 served by both workers",
                   interval=0)
    st1 = vstack.stats()
    print(f"{len(done)} connections echoed; segments passed round the workers: "
          f"{st1.get('stray_handed', 0) - st0.get('stray_handed', 0)}")


def test_vlan_rule_on_adopted_queue():
    """3 slots, --vlan 100, worker 2 absent: its queue is adopted and the
    adopter hands TCP flows to the worker the flow hash names. The VLAN rule
    holds on that path too: none of 64 untagged SYNs is answered by any
    worker, each is dropped as "vlan"; SYNs on VLAN 100 are answered, on
    VLAN 100, those from the adopted queue included."""
    s = Stack(TEST_NAME + "va", workers=3, primary_args=f"--vlan {VID}")
    s.stop()
    try:
        s.script("primary", "3")
        s.start_worker(0)
        s.start_worker(1)
        wait_until(lambda: (lambda i: all(
            i[w]["state"] == "running" and i[w]["iterations"] > 0 for w in "01") and
            i["2"]["adopted_by"] in (0, 1))(s.workers_info()), 10,
            "workers 0 and 1 polling, queue 2 adopted by one of them")
        mac = stack_mac(s)
        ip = IP(src=HOST_IP, dst=STACK_IP)

        def syn(sport):
            # of several lengths: the tap's queue for a tagged frame the
            # host sends follows its IP length, not its 4-tuple
            return ip / TCP(sport=sport, dport=80, flags="S", seq=1) / (b"x" * (sport % 32))
        n = 64
        sports = set(range(44000, 44000 + n))
        st0 = s.stats()
        with Sniffer(s, f"ether dst {HOST_MAC}") as sn:
            with s.netns():
                sendp([Ether(src=HOST_MAC, dst=mac) / syn(p) for p in sorted(sports)],
                      iface=IFACE)

            def accounted():
                answered = {p[TCP].dport for p in sn.frames(
                    lambda p: TCP in p and p[TCP].sport == 80 and p[TCP].dport in sports)}
                dropped = s.stats()["rx_drop_vlan"] - st0["rx_drop_vlan"]
                return (answered, dropped) if len(answered) + dropped >= n else None
            answered, dropped = wait_until(accounted, 10,
                                           f"each of {n} untagged SYNs answered or dropped")
        st1 = s.stats()
        print(f"untagged SYNs: {len(answered)} of {n} answered, {dropped} dropped as vlan, "
              f"{st1['adopt_rx'] - st0['adopt_rx']} on the adopted queue")
        assert st1["adopt_rx"] > st0["adopt_rx"], "the kernel put none of them on queue 2"
        assert not answered, f"{len(answered)} of {n} untagged SYNs answered"
        assert dropped >= n

        tports = set(range(45000, 45032))
        with Sniffer(s, f"ether dst {HOST_MAC}") as sn:
            with s.netns():
                sendp([tagged(syn(p), dst=mac) for p in sorted(tports)], iface=IFACE)
            wait_until(lambda: tports <= {p[TCP].dport for p in sn.frames(
                lambda p: TCP in p and p[TCP].sport == 80)}, 10,
                f"an answer to each of {len(tports)} SYNs on VLAN 100")
            synacks = sn.frames(lambda p: TCP in p and p[TCP].dport in tports)
            with s.netns():
                sendp([tagged(ip / TCP(sport=p, dport=80, flags="R", seq=2), dst=mac)
                       for p in sorted(tports)], iface=IFACE)
        st2 = s.stats()
        print(f"tagged SYNs: {st2['adopt_rx'] - st1['adopt_rx']} on the adopted queue, "
              f"{st2['adopt_handed'] - st1['adopt_handed']} handed over")
        assert {p[TCP].dport for p in synacks} == tports
        assert all(p[TCP].flags == "SA" and p[Dot1Q].vlan == VID for p in synacks), synacks
        assert st2["adopt_rx"] > st1["adopt_rx"], "the kernel put none of them on queue 2"
    finally:
        s.stop()
