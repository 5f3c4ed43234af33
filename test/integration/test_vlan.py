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
