"""TCP data segments sent by reference (secondary/txseg.c): lwIP builds
each data segment in a pool mbuf, and every transmission of it is a copy
of the headers chained to a reference on that mbuf's payload. A
retransmission must carry exactly the bytes of the first transmission,
with a checksum that holds, and the mbufs go back once the connection is
gone.

A client of our own on a packet socket (an on-link address the kernel
does not own, so the kernel stays out of the conversation) sends random
bytes to the echo app and acknowledges nothing of the echo until the
stack retransmits it (its RTO), then acknowledges as the rest comes.
A worker killed while it holds such segments loses them to the pool (the
primary counts them), and the slot's next worker starts its gauge at 0."""
import os
import signal
import socket
import struct

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import ARP, Ether

from mps import STACK_IP, TEST_NAME, Stack, wait_until

CLIENT_IP = "198.18.0.77"
CLIENT_MAC = "02:00:00:00:77:01"
ECHO_PORT = 7
SEG = 1400
DATA = os.urandom(4 * SEG)


def l4_sum_ok(ip):
    """The TCP checksum of ip (scapy IP layer) holds over the pseudo-header."""
    raw = bytes(ip)
    hlen = (raw[0] & 0x0f) * 4
    seg = raw[hlen:struct.unpack("!H", raw[2:4])[0]]
    pseudo = raw[12:20] + struct.pack("!BBH", 0, 6, len(seg))
    data = pseudo + seg + (b"\0" if len(seg) % 2 else b"")
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s == 0xffff


class Client:
    """One TCP conversation from CLIENT_IP, by hand."""

    def __init__(self, stack):
        self.stack_mac = stack.learn_stack_mac()
        with stack.netns():
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        self.sock.bind(("mps0", 0))
        self.port = 40000 + os.getpid() % 20000
        self.seq = 1000
        self.segs = []  # the stack's frames to us: scapy packets

    def close(self):
        self.sock.close()

    def send(self, flags, payload=b"", ack=0):
        f = (Ether(src=CLIENT_MAC, dst=self.stack_mac) /
             IP(src=CLIENT_IP, dst=STACK_IP) /
             TCP(sport=self.port, dport=ECHO_PORT, flags=flags, seq=self.seq, ack=ack,
                 window=65535, options=[("MSS", 1460)] if "S" in flags else []) / payload)
        self.sock.send(bytes(f))
        self.seq += len(payload) + (1 if "S" in flags or "F" in flags else 0)

    def pump(self, until, timeout, what):
        """Reads frames (answering ARP for CLIENT_IP, keeping the stack's
        TCP frames to us) until until() holds."""
        def step():
            self.sock.settimeout(0.05)
            try:
                raw = self.sock.recv(65535)
            except socket.timeout:
                return until()
            p = Ether(raw)
            if ARP in p and p[ARP].op == 1 and p[ARP].pdst == CLIENT_IP:
                self.sock.send(bytes(Ether(src=CLIENT_MAC, dst=p.src) / ARP(
                    op=2, hwsrc=CLIENT_MAC, psrc=CLIENT_IP, hwdst=p.src, pdst=p[ARP].psrc)))
            elif (IP in p and TCP in p and p[IP].src == STACK_IP and
                  p[IP].dst == CLIENT_IP and p[TCP].dport == self.port):
                self.segs.append(p)
            return until()
        return wait_until(step, timeout, what, interval=0)


def data_segs(c):
    return [p for p in c.segs if len(p[TCP].payload) > 0]


def echo_resent(c):
    """Opens the connection, sends DATA and acknowledges nothing of the
    echo until the stack resent part of it (its RTO). The stack's ISN + 1."""
    c.send("S")
    synack, = c.pump(lambda: [p for p in c.segs if p[TCP].flags.S], 10, "the SYN-ACK")
    base = synack[TCP].seq + 1
    for i in range(0, len(DATA), SEG):
        c.send("PA", DATA[i:i + SEG], ack=base)

    def resent():
        seqs = [p[TCP].seq for p in data_segs(c)]
        return len(seqs) > len(set(seqs))
    try:
        c.pump(resent, 20, "the echo, and a retransmission of it")
    except AssertionError as e:
        seen = [(p[TCP].seq - base, len(p[TCP].payload), str(p[TCP].flags))
                for p in c.segs]
        raise AssertionError(f"{e}; the stack sent (offset, length, flags): {seen}")
    return base


def test_retransmission_sends_the_same_bytes_by_reference(stack):
    before = stack.stats()
    c = Client(stack)
    try:
        base = echo_resent(c)

        def contiguous():
            got = bytearray(len(DATA))
            for p in data_segs(c):
                off = p[TCP].seq - base
                got[off:off + len(p[TCP].payload)] = b"\1" * len(p[TCP].payload)
            return got.find(0) if 0 in got else len(DATA)
        acked = [0]

        def ack_as_it_comes():
            n = contiguous()
            if n > acked[0]:
                c.send("A", ack=base + n)
                acked[0] = n
            return n == len(DATA)
        # Then acknowledge in order until the whole echo is back: the
        # segments lwIP lets go of give their mbufs to the next ones.
        c.pump(ack_as_it_comes, 20, "the whole echo, acknowledged as it came")
        segs = data_segs(c)
        for p in segs:
            off = p[TCP].seq - base
            pl = bytes(p[TCP].payload)
            assert pl == DATA[off:off + len(pl)], f"bytes {off}.. of the echo differ"
            assert l4_sum_ok(p[IP]), f"bad TCP checksum on the segment at {off}"
        by_ref = [p for p in segs if len(p[TCP].payload) >= 512]
        assert len(by_ref) > len({p[TCP].seq for p in by_ref}), "no long segment resent"
        sent = stack.stats()["tx_zero_copy"] - before["tx_zero_copy"]
        assert sent >= len(by_ref), (sent, len(by_ref))
        c.send("R")
    finally:
        c.close()
    # The reset connection's segments, and their mbufs, are released: on
    # every worker (a gauge that moved to the wrong slot shows here).
    wait_until(lambda: set(stack.counters("tx_seg_held")) == {0}, 10,
               "TCP segments held in mbufs back to 0 on every worker")


def test_killed_worker_segments_counted_and_slot_starts_at_zero():
    s = Stack(TEST_NAME + "ts", workers=2, primary_args="--listen 7:echo")
    with s.running():
        c = Client(s)
        try:
            echo_resent(c)  # the segments stay unacknowledged: held
            held = {w: n for w, n in enumerate(s.counters("tx_seg_held")) if n > 0}
            assert len(held) == 1, held
            (wid, n), = held.items()
            lost0 = s.telemetry("/mps/pool")["mbufs_lost"]
            os.kill(s.pid(f"worker-{wid}"), signal.SIGKILL)
            wait_until(lambda: s.workers_info()[str(wid)]["state"] == "dead", 10,
                       f"the primary to mark worker {wid} dead")
            lost = s.telemetry("/mps/pool")["mbufs_lost"] - lost0
            assert lost >= n, (lost, n)
            s.start_worker(wid)
            wait_until(lambda: s.workers_info()[str(wid)]["state"] == "running", 30,
                       f"worker {wid} restarted")
            # The new worker holds nothing: the dead one's count is not its own.
            assert s.counters("tx_seg_held")[wid] == 0
        finally:
            c.close()
