"""Checksum offloads. The same stack with the port's checksum
offloads (net_tap computes and verifies checksums for the workers) and with
--no-offload (the workers do both in software): frames with a bad TCP or
UDP checksum are dropped and counted as bad_csum on both paths, good ones
are answered with correct checksums, and the counters show which path ran."""
import socket

import pytest
from scapy.all import ICMP, IP, TCP, UDP, Ether, UDPerror, conf, sendp

from mps import STACK_IP, TEST_NAME, Sniffer, Stack, wait_until

conf.verb = 0
IFACE = "mps0"
HOST_IP, HOST_MAC = "198.18.0.50", "02:00:5e:00:06:50"


@pytest.fixture(scope="module", params=["offload", "software"])
def cstack(request):
    args = "--no-offload" if request.param == "software" else ""
    s = Stack(TEST_NAME + "c" + request.param[0], workers=2, primary_args=args)
    with s.running():
        s.learn_stack_mac(IFACE)
        s.mode = request.param
        yield s


def total(stack, key):
    return stack.stats()[key]


def send(stack, frame):
    with stack.netns():
        sendp(frame, iface=IFACE)


def frame(stack, l4):
    return Ether(src=HOST_MAC, dst=stack.mac) / IP(src=HOST_IP, dst=STACK_IP) / l4


def csum_ok(pkt, layer):
    """Recomputes the layer's checksum with scapy and compares."""
    got = pkt[layer].chksum
    again = pkt[IP].__class__(bytes(pkt[IP]))
    del again[layer].chksum
    return again.__class__(bytes(again))[layer].chksum == got


def test_bad_tcp_checksum_dropped_good_answered(cstack):
    bad0 = total(cstack, "rx_drop_bad_csum")
    with Sniffer(cstack, f"tcp and ether dst {HOST_MAC}") as sn:
        send(cstack, frame(cstack, TCP(sport=41001, dport=80, flags="S", seq=7,
                                       chksum=0x1234)))
        wait_until(lambda: total(cstack, "rx_drop_bad_csum") == bad0 + 1, 10,
                   "bad-checksum SYN counted")
        send(cstack, frame(cstack, TCP(sport=41002, dport=80, flags="S", seq=7)))
        synack = sn.wait(lambda p: p[TCP].dport == 41002, 10, "SYN-ACK to the good SYN")[0]
    send(cstack, frame(cstack, TCP(sport=41002, dport=80, flags="R", seq=8)))
    # The bad SYN went first: an answer to it would have been seen by now.
    assert not sn.frames(lambda p: p[TCP].dport == 41001), "bad SYN answered"
    assert synack[TCP].flags == "SA"
    assert csum_ok(synack, TCP) and csum_ok(synack, IP), synack.show(dump=True)


def test_bad_udp_checksum_dropped_good_answered(cstack):
    bad0 = total(cstack, "rx_drop_bad_csum")
    with Sniffer(cstack, f"icmp and ether dst {HOST_MAC}") as sn:
        send(cstack, frame(cstack, UDP(sport=5001, dport=9999, chksum=0x4321) / (b"x" * 8)))
        wait_until(lambda: total(cstack, "rx_drop_bad_csum") == bad0 + 1, 10,
                   "bad-checksum UDP counted")
        send(cstack, frame(cstack, UDP(sport=5002, dport=9999) / (b"y" * 8)))
        sn.wait(lambda p: p[ICMP].type == 3, 10, "port unreachable for good UDP")
    pkts = sn.frames()
    quoted = {p[UDPerror].sport for p in pkts if p[ICMP].type == 3}
    assert quoted == {5002}
    assert csum_ok(pkts[0], IP)


def test_offload_path_counters(cstack):
    """Which path ran: the NIC's (no software verification, TX frames
    handed to the port) or software (the reverse)."""
    r = cstack.exec("curl", "-s", "-m", "10", f"http://{STACK_IP}/bytes/50000")
    assert r.returncode == 0 and len(r.stdout) == 50000
    s = cstack.connect(7)    # TCP_MSS is 8960 now: a 1500 MTU still gets 1460
    assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG) == 1460
    s.close()
    cfg = cstack.telemetry("/mps/config")
    st = cstack.telemetry("/mps/stats")
    if cstack.mode == "offload":
        assert cfg["tx_offloads"] & 0xe and cfg["rx_offloads"] & 0xe
        assert st["rx_csum_sw"] == 0 and st["tx_csum_offload"] > 0
    else:
        assert cfg["no_offload"] == 1 and cfg["rx_offloads"] == 0
        assert st["rx_csum_sw"] > 0 and st["tx_csum_offload"] == 0
