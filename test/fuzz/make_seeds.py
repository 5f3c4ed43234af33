#!/usr/bin/python3
"""make_seeds.py - seeds for fuzz-rx: each file is a sequence of frames, each
prefixed by its length (2 bytes, big endian), addressed to the harness's
stack (02:00:00:00:00:02, 198.18.0.2).

  make_seeds.py OUTDIR                       the built-in seeds
  make_seeds.py --from-pcaps OUTDIR A.pcap   one seed per pcap (first 64 frames)
"""
import struct
import sys
from pathlib import Path

from scapy.all import ARP, ICMP, IP, TCP, UDP, Dot1Q, Ether, Raw, rdpcap

STACK_MAC, PEER_MAC = "02:00:00:00:00:02", "02:00:00:00:00:01"
STACK_IP, PEER_IP = "198.18.0.2", "198.18.0.1"


def pack(frames):
    return b"".join(struct.pack("!H", len(f)) + f for f in frames)


def eth():
    return Ether(dst=STACK_MAC, src=PEER_MAC)


def ip(**kw):
    return eth() / IP(src=PEER_IP, dst=STACK_IP, **kw)


def builtin():
    syn = ip() / TCP(sport=40000, dport=80, flags="S", seq=1000)
    ack = ip() / TCP(sport=40000, dport=80, flags="A", seq=1001, ack=6511)
    get = ip() / TCP(sport=40000, dport=80, flags="PA", seq=1001, ack=6511) / \
        Raw(b"GET /bytes/3000 HTTP/1.1\r\nHost: x\r\n\r\n")
    fin = ip() / TCP(sport=40000, dport=80, flags="FA", seq=1038, ack=6511)
    return {
        "arp_request": [Ether(dst="ff:ff:ff:ff:ff:ff", src=PEER_MAC) /
                        ARP(op=1, hwsrc=PEER_MAC, psrc=PEER_IP, pdst=STACK_IP)],
        "arp_reply": [eth() / ARP(op=2, hwsrc=PEER_MAC, psrc=PEER_IP,
                                  hwdst=STACK_MAC, pdst=STACK_IP)],
        "gratuitous_arp": [Ether(dst="ff:ff:ff:ff:ff:ff", src=PEER_MAC) /
                           ARP(op=1, hwsrc=PEER_MAC, psrc=PEER_IP, pdst=PEER_IP)],
        "icmp_echo": [ip() / ICMP() / Raw(b"x" * 56)],
        "http_session": [syn, ack, get, fin],
        "echo_session": [ip() / TCP(sport=40001, dport=7, flags="S", seq=5),
                         ip() / TCP(sport=40001, dport=7, flags="PA", seq=6, ack=6511) /
                         Raw(b"hello")],
        "http_bad_request": [syn, ack, ip() / TCP(sport=40000, dport=80, flags="PA",
                                                  seq=1001, ack=6511) / Raw(b"BAD\r\n\r\n")],
        "tcp_rst": [ip() / TCP(sport=40002, dport=80, flags="R", seq=1)],
        "udp_discard": [ip() / UDP(sport=5000, dport=9) / Raw(b"abc")],
        "vlan_ipv4": [eth() / Dot1Q(vlan=5) / IP(src=PEER_IP, dst=STACK_IP) / ICMP()],
        "ip_options": [ip(options=b"\x01\x01\x01\x00") / ICMP()],
        "ip_fragment": [ip(flags="MF", frag=0) / ICMP() / Raw(b"y" * 64)],
        "tcp_options": [ip() / TCP(sport=40003, dport=80, flags="S",
                                   options=[("MSS", 536), ("WScale", 14), ("SAckOK", b""),
                                            ("Timestamp", (1, 0))])],
        "truncated_ip": [bytes(ip() / TCP(dport=80))[:30]],
    }


def main(argv):
    if argv and argv[0] == "--from-pcaps":
        out = Path(argv[1])
        out.mkdir(parents=True, exist_ok=True)
        for p in argv[2:]:
            frames = [bytes(f) for f in rdpcap(p)[:64]]
            (out / ("pcap_" + Path(p).stem)).write_bytes(pack(frames))
        return 0
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for name, frames in builtin().items():
        (out / name).write_bytes(pack([bytes(f) for f in frames]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
