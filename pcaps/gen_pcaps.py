#!/usr/bin/python3
"""Generates every pcap in pcaps/ and pcaps/manifest.json, the machine-readable
list of what the stack must do with each (read by scripts/replay.py, the
integration tests and the fuzzer).

Frames to the stack carry the placeholder destination MAC STACK_MAC; the
replayer rewrites it to the running stack's MAC. Each pcap uses its own
source hosts, so every answer can be told apart.

    /usr/bin/python3 pcaps/gen_pcaps.py [OUTDIR]
"""
import json
import logging
import pathlib
import sys

from scapy.layers.inet import ICMP, IP, TCP, IPOption_RR
from scapy.layers.l2 import ARP, Dot1Q, Dot1AD, Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

# trunc_eth is a bare Raw frame: scapy warns about its link type (it is Ethernet).
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

STACK_IP = "198.18.0.2"
STACK_MAC = "02:00:00:00:00:02"  # placeholder, rewritten at replay time
OPEN_PORT = 80                    # the http listener, open by default
CLOSED_PORT = 81                  # never a listener


def host(n):
    """Address and MAC of simulated on-link host n (198.18.0.n)."""
    return f"198.18.0.{n}", f"02:00:00:00:01:{n:02x}"


def eth(n):
    ip, mac = host(n)
    return Ether(src=mac, dst=STACK_MAC), ip


def arp_request():
    e, ip = eth(10)
    e.dst = "ff:ff:ff:ff:ff:ff"
    return [e / ARP(op=1, hwsrc=e.src, psrc=ip, pdst=STACK_IP)], [
        {"check": "replies", "proto": "arp_reply", "to": [ip], "count": 1,
         "exact": True, "from_stack_mac": True}]


def icmp_echo():
    e, ip = eth(11)
    return [e / IP(src=ip, dst=STACK_IP) / ICMP(id=0x7711, seq=1) / Raw(b"mpstack-echo")], [
        {"check": "replies", "proto": "icmp_echo_reply", "to": [ip], "count": 1}]


def syn_open():
    e, ip = eth(12)
    return [e / IP(src=ip, dst=STACK_IP) / TCP(sport=41000, dport=OPEN_PORT, flags="S", seq=1000)], [
        {"check": "replies", "proto": "tcp_synack", "to": [ip], "count": 1}]


def syn_closed():
    e, ip = eth(13)
    return [e / IP(src=ip, dst=STACK_IP) / TCP(sport=41001, dport=CLOSED_PORT, flags="S", seq=2000)], [
        {"check": "replies", "proto": "tcp_rst", "to": [ip], "count": 1}]


def syn_64_flows():
    e, ip = eth(14)
    frames = [e / IP(src=ip, dst=STACK_IP) /
              TCP(sport=42000 + i, dport=OPEN_PORT, flags="S", seq=3000 + i)
              for i in range(64)]
    return frames, [
        {"check": "replies", "proto": "tcp_synack", "to": [ip], "count": 64},
        {"check": "spread", "counter": "rx_pkts", "min_per_worker": 1}]


def neigh_50_hosts():
    frames, ips = [], []
    for n in range(100, 150):
        e, ip = eth(n)
        frames.append(e / IP(src=ip, dst=STACK_IP) / ICMP(id=n, seq=1))
        ips.append(ip)
    return frames, [
        {"check": "neigh", "ips": ips, "macs": [host(n)[1] for n in range(100, 150)]},
        {"check": "replies", "proto": "icmp_echo_reply", "to": ips, "count": 50}]


def _raw_ip(ip_src, payload_len=20, **kw):
    """An IPv4 header (checksum right) followed by payload_len zero bytes."""
    return IP(src=ip_src, dst=STACK_IP, **kw) / Raw(b"\0" * payload_len)


def malformed():
    """One frame per case; every one dropped before lwIP and counted under
    its reason (rx_drop_<reason>). Names and reasons go to the manifest."""
    e, ip = eth(66)
    e4 = Ether(src=e.src, dst=STACK_MAC, type=0x0800)  # for raw IPv4 bytes
    syn = TCP(sport=43000, dport=OPEN_PORT, flags="S", seq=5000)
    cases = []

    def add(name, reason, frame, note=""):
        cases.append((name, reason, frame, note))

    def raw_bytes(layer):
        return bytes(layer)

    # Ethernet
    add("trunc_eth", "ethertype", Raw(bytes(e)[:12]),
        "12 bytes; the kernel pads frames shorter than an Ethernet header "
        "to 14 with zeros, so it arrives with ethertype 0")
    add("unknown_ethertype", "ethertype",
        Ether(src=e.src, dst=STACK_MAC, type=0x88b5) / Raw(b"\x01" * 46))
    add("ipv6_ethertype", "ethertype",
        Ether(src=e.src, dst=STACK_MAC, type=0x86dd) / Raw(b"\x60" + b"\0" * 45))
    add("vlan_icmp", "vlan",
        Ether(src=e.src, dst=STACK_MAC) / Dot1Q(vlan=5) / IP(src=ip, dst=STACK_IP) / ICMP())
    add("vlan_arp", "vlan",
        Ether(src=e.src, dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=5) /
        ARP(op=1, hwsrc=e.src, psrc=ip, pdst=STACK_IP))
    add("qinq_icmp", "vlan",
        Ether(src=e.src, dst=STACK_MAC) / Dot1AD(vlan=6) / Dot1Q(vlan=5) /
        IP(src=ip, dst=STACK_IP) / ICMP())
    # IPv4 header
    full = raw_bytes(IP(src=ip, dst=STACK_IP) / syn)
    add("trunc_ipv4", "truncated", e4 / Raw(full[:12]))
    ihl3 = bytearray(raw_bytes(IP(src=ip, dst=STACK_IP) / syn))
    ihl3[0] = 0x43
    add("bad_ihl_small", "bad_ip_hdr", e4 / Raw(bytes(ihl3)))
    ihl15 = bytearray(full)
    ihl15[0] = 0x4f
    add("bad_ihl_beyond_frame", "bad_ip_hdr", e4 / Raw(bytes(ihl15)))
    v5 = bytearray(full)
    v5[0] = 0x55
    add("bad_ip_version", "bad_ip_hdr", e4 / Raw(bytes(v5)))
    add("totlen_beyond_frame", "truncated",
        e / IP(src=ip, dst=STACK_IP, len=200) / syn)
    add("totlen_below_ihl", "bad_ip_hdr",
        e / IP(src=ip, dst=STACK_IP, len=12) / syn)
    add("bad_ip_checksum", "bad_csum",
        e / IP(src=ip, dst=STACK_IP, chksum=0x1234) / syn)
    add("ip_options_rr", "ip_options",
        e / IP(src=ip, dst=STACK_IP, options=[IPOption_RR()]) / syn)
    add("fragment_first", "fragment",
        e / IP(src=ip, dst=STACK_IP, flags="MF", id=77) / ICMP() / Raw(b"x" * 32))
    add("fragment_later", "fragment",
        e / IP(src=ip, dst=STACK_IP, frag=3, id=77) / Raw(b"x" * 24))
    # TCP
    add("trunc_tcp", "truncated",
        e / IP(src=ip, dst=STACK_IP, proto=6) / Raw(raw_bytes(syn)[:10]))
    add("tcp_doff_small", "bad_tcp",
        e / IP(src=ip, dst=STACK_IP) / TCP(sport=43001, dport=OPEN_PORT, flags="S", dataofs=4))
    add("tcp_doff_beyond_segment", "bad_tcp",
        e / IP(src=ip, dst=STACK_IP) / TCP(sport=43002, dport=OPEN_PORT, flags="S", dataofs=15))
    add("tcp_syn_fin", "bad_tcp",
        e / IP(src=ip, dst=STACK_IP) / TCP(sport=43003, dport=OPEN_PORT, flags="SF"))
    add("tcp_syn_rst", "bad_tcp",
        e / IP(src=ip, dst=STACK_IP) / TCP(sport=43004, dport=OPEN_PORT, flags="SR"))
    add("bad_tcp_checksum", "bad_csum",
        e / IP(src=ip, dst=STACK_IP) / TCP(sport=43005, dport=OPEN_PORT, flags="S", chksum=0x1234),
        "flagged by the port's RX L4 checksum offload (net_tap verifies in software)")
    # ARP
    arp = ARP(op=1, hwsrc=e.src, psrc=ip, pdst=STACK_IP)
    bc = Ether(src=e.src, dst="ff:ff:ff:ff:ff:ff", type=0x0806)
    add("arp_truncated", "truncated", bc / Raw(raw_bytes(arp)[:20]))
    add("arp_bad_hlen", "bad_arp", bc / Raw(raw_bytes(ARP(op=1, hwlen=8, hwsrc=e.src, psrc=ip, pdst=STACK_IP))[:28]))
    add("arp_bad_op", "bad_arp", bc / ARP(op=3, hwsrc=e.src, psrc=ip, pdst=STACK_IP))
    add("arp_bad_ptype", "bad_arp", bc / ARP(op=1, ptype=0x86dd, hwsrc=e.src, psrc=ip, pdst=STACK_IP))

    frames = [c[2] for c in cases]
    manifest_cases = [{"index": i, "name": c[0], "reason": c[1],
                       **({"note": c[3]} if c[3] else {})}
                      for i, c in enumerate(cases)]
    counts = {}
    for c in cases:
        key = f"rx_drop_{c[1]}"
        counts[key] = counts.get(key, 0) + 1
    return frames, [
        {"check": "drops", "counters": counts},
        {"check": "no_replies", "to_macs": [e.src]},
        {"check": "alive"}], manifest_cases


PCAPS = [
    ("arp_request.pcap", "ARP request for our address -> one ARP reply with our MAC", arp_request),
    ("icmp_echo.pcap", "ICMP echo request -> echo reply", icmp_echo),
    ("syn_open.pcap", f"SYN to open port {OPEN_PORT} -> SYN-ACK", syn_open),
    ("syn_closed.pcap", f"SYN to closed port {CLOSED_PORT} -> RST", syn_closed),
    ("syn_64_flows.pcap", "SYNs from 64 flows -> 64 SYN-ACKs, received by every worker", syn_64_flows),
    ("neigh_50_hosts.pcap", "IPv4 from 50 on-link hosts -> 50 learned neighbours (and echo replies)", neigh_50_hosts),
    ("malformed.pcap", "malformed-frame corpus -> every frame dropped and counted by reason, no answer, workers alive", malformed),
]


def main():
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).parent
    manifest = {"stack_ip": STACK_IP, "stack_mac_placeholder": STACK_MAC,
                "open_port": OPEN_PORT, "closed_port": CLOSED_PORT, "pcaps": {}}
    for name, desc, gen in PCAPS:
        res = gen()
        frames, expect = res[0], res[1]
        for i, f in enumerate(frames):
            f.time = 1700000000 + i / 1000  # reproducible files
        wrpcap(str(out / name), frames, linktype=1)  # DLT_EN10MB
        entry = {"description": desc, "frames": len(frames), "expect": expect}
        if len(res) > 2:
            entry["cases"] = res[2]
        manifest["pcaps"][name] = entry
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {len(PCAPS)} pcaps and manifest.json to {out}")


if __name__ == "__main__":
    main()
