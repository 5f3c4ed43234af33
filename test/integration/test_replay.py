"""scripts/replay.py on captures that are not in pcaps/manifest.json: TCP
conversations played statefully against the stack, with a verdict.

The inputs are made here: an echo and an HTTP conversation between two
kernels (two namespaces joined by a veth pair, recorded with mps.Sniffer),
an HTTP GET against mpstack recorded with mps-capture, and pcaps written
byte by byte for what real captures hold (Linux cooked links, pcapng,
GRO super-segments with bad checksums, retransmissions and duplicates,
a capture that starts mid-conversation, a snaplen)."""
import http.server
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading

import pytest

from mps import (REPO, TEST_NAME, Sniffer, netns, scaled, start_capture,
                 stop_capture, wait_until)

REPLAY = REPO / "scripts" / "replay.py"
# The recording hosts: inside the namespaces this module makes, in 198.18.0.0/15.
CLIENT_IP, SERVER_IP = "198.19.7.1", "198.19.7.2"
FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10
ROUNDS = [b"hello mpstack\n", b"a second round, a bit longer\n", b"3\n"]


def replay(stack, *args, idle=0.5):
    """replay.py --json in the stack's namespace: (exit status, rows)."""
    r = subprocess.run(["ip", "netns", "exec", stack.ns, "/usr/bin/python3", str(REPLAY),
                        "--prefix", stack.prefix, "--json", "--timeout", f"{scaled(10):g}",
                        "--idle", f"{scaled(idle):g}", *map(str, args)],
                       capture_output=True, text=True, timeout=scaled(120))
    assert r.stdout, r.stderr
    return r.returncode, json.loads(r.stdout)


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="mps-replay-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- two kernels

class KernelPair:
    """Two namespaces, client and server, joined by a veth pair."""

    def __init__(self):
        self.c, self.s = f"{TEST_NAME}-rpc", f"{TEST_NAME}-rps"

    def sh(self, *cmd):
        subprocess.run(cmd, check=True, capture_output=True, timeout=30)

    def up(self):
        self.down()
        for ns in (self.c, self.s):
            self.sh("ip", "netns", "add", ns)
            self.sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                    "net.ipv6.conf.default.disable_ipv6=1")
        self.sh("ip", "-n", self.c, "link", "add", "rp0", "type", "veth", "peer", "name", "rp1",
                "netns", self.s)
        for ns, dev, ip in ((self.c, "rp0", CLIENT_IP), (self.s, "rp1", SERVER_IP)):
            self.sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
            self.sh("ip", "-n", ns, "link", "set", dev, "up")
            self.sh("ip", "-n", ns, "link", "set", "lo", "up")
        return self

    def down(self):
        for ns in (self.c, self.s):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)

    def netns(self):  # what mps.Sniffer captures in: the client's side
        return netns(self.c)

    def record(self, path, port, client):
        """Runs client(sock) against SERVER_IP:port from the client
        namespace, recording the veth until the connection's close is
        complete (both FINs and the client's ACK of the server's); writes
        the frames to path (Ethernet pcap) and returns them."""
        from scapy.layers.inet import TCP
        from scapy.utils import wrpcap
        sn = Sniffer(self, f"tcp port {port}", iface="rp0", timeout=10)
        try:
            with netns(self.c):
                sock = socket.create_connection((SERVER_IP, port), timeout=scaled(10))
            with sock:
                client(sock)

            def closed(frames):
                fins = [p for p in frames if p[TCP].flags & FIN and p[TCP].sport == port]
                return bool(fins) and any(
                    p[TCP].dport == port and p[TCP].flags & ACK and
                    p[TCP].ack == fins[0][TCP].seq + len(fins[0][TCP].payload) + 1
                    for p in frames)
            wait_until(lambda: closed(sn.frames(lambda p: TCP in p)), 10,
                       "the recorded connection closed both ways")
        finally:
            frames = sn.stop()
        wrpcap(path, frames)
        return frames


def echo_server(sock):
    conn, _ = sock.accept()
    with conn:
        while True:
            d = conn.recv(65536)
            if not d:
                return
            conn.sendall(d)


def echo_client(sock):
    for msg in ROUNDS:
        sock.sendall(msg)
        got = b""
        while len(got) < len(msg):
            got += sock.recv(65536)
        assert got == msg
    sock.shutdown(socket.SHUT_WR)
    assert sock.recv(10) == b""


def http_client(sock):
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    while sock.recv(65536):
        pass


@pytest.fixture(scope="module")
def kernels():
    k = KernelPair().up()
    yield k
    k.down()


@pytest.fixture(scope="module")
def kernel_echo(kernels):
    """An echo conversation between the two kernels: 3 rounds, then FIN."""
    d = tempfile.mkdtemp(prefix="mps-replay-echo-")
    with netns(kernels.s):
        srv = socket.create_server((SERVER_IP, 7))
    t = threading.Thread(target=echo_server, args=(srv,), daemon=True)
    t.start()
    path = os.path.join(d, "kernel-echo.pcap")
    frames = kernels.record(path, 7, echo_client)
    t.join(scaled(10))
    srv.close()
    yield path, frames
    shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- pcap writing

LINK_ETH, LINK_SLL, LINK_SLL2 = 1, 113, 276


def relink(eth, link):
    """An Ethernet frame's bytes as a frame of another link type."""
    if link == LINK_ETH:
        return eth
    if link == LINK_SLL:  # packet type, ARPHRD_ETHER, address length, address, protocol
        return struct.pack(">HHH", 0, 1, 6) + eth[6:12] + b"\0\0" + eth[12:14] + eth[14:]
    # SLL2: protocol, reserved, ifindex, ARPHRD_ETHER, packet type, address length, address
    return eth[12:14] + b"\0\0" + struct.pack(">IHBB", 2, 1, 0, 6) + eth[6:12] + b"\0\0" + eth[14:]


def write_pcap(path, frames, link=LINK_ETH, snaplen=None):
    """frames: (time, Ethernet bytes); a classic pcap of another link type
    if asked, each frame cut at snaplen if given (its length on the wire kept)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen or 262144, link))
        for ts, eth in frames:
            b = relink(eth, link)
            cap = b[:snaplen] if snaplen else b
            f.write(struct.pack("<IIII", int(ts), int(ts % 1 * 1e6), len(cap), len(b)) + cap)


def write_pcapng(path, frames, link=LINK_ETH):
    """frames: (time, Ethernet bytes) as a pcapng with one interface
    (nanosecond timestamps)."""
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = len(body) + 12
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)
    with open(path, "wb") as f:
        f.write(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
        f.write(block(1, struct.pack("<HHI", link, 0, 0) +
                      struct.pack("<HHB3x", 9, 1, 9) + b"\0\0\0\0"))
        for ts, eth in frames:
            b = relink(eth, link)
            t = int(ts * 1e9)
            f.write(block(6, struct.pack("<5I", 0, t >> 32, t & 0xFFFFFFFF, len(b), len(b)) + b))


class Talk:
    """A TCP conversation written frame by frame (scapy builds them; the
    checksums can be left wrong as offloading NICs leave them)."""

    def __init__(self, client, server, t0=1.0, cisn=1000, sisn=900000, bad_csum=False):
        self.client, self.server = client, server
        self.t, self.bad = t0, bad_csum
        self.cseq, self.sseq = cisn, sisn
        self.frames = []

    def seg(self, frm, flags, data=b"", seq=None, dt=0.001, options=()):
        from scapy.layers.inet import IP, TCP
        from scapy.layers.l2 import Ether
        src, dst = (self.client, self.server) if frm == "c" else (self.server, self.client)
        mine = "cseq" if frm == "c" else "sseq"
        other = "sseq" if frm == "c" else "cseq"
        s = getattr(self, mine) if seq is None else seq
        tcp = TCP(sport=src[1], dport=dst[1], flags=flags, seq=s & 0xFFFFFFFF,
                  ack=getattr(self, other) & 0xFFFFFFFF if "A" in flags else 0,
                  options=list(options))
        if self.bad:
            tcp.chksum = 0xBAD
        p = Ether(src="02:00:00:00:aa:01", dst="02:00:00:00:aa:02") / \
            IP(src=src[0], dst=dst[0], **({"chksum": 0xBAD} if self.bad else {})) / tcp
        if data:
            p = p / data
        self.t += dt
        self.frames.append((self.t, bytes(p)))
        if seq is None:
            setattr(self, mine, (s + len(data) + (1 if set(flags) & {"S", "F"} else 0))
                    & 0xFFFFFFFF)
        return self

    def open(self, options=()):
        return self.seg("c", "S", options=options).seg("s", "SA", options=options).seg("c", "A")

    def round(self, req, resp=None):
        self.seg("c", "PA", req)
        return self.seg("s", "PA", req if resp is None else resp)

    def close(self):
        return self.seg("c", "FA").seg("s", "FA").seg("c", "A")


def only(rows):
    assert len(rows) == 1, rows
    return rows[0]


# ---------------------------------------------------------------- tests

def test_capture_formats_read_alike(tmp):
    """The reader alone (no stack): one conversation written as a big-endian
    nanosecond pcap, an SLL pcap and a two-section pcapng gives the same
    streams, events and ends; a sequence space that wraps is no matter."""
    import pcapconv
    t = Talk(("10.90.0.1", 44000), ("10.90.0.2", 7), cisn=0xFFFFFFF0, sisn=0xFFFFFFFA)
    t.open().round(b"wraps around 2**32\n").round(b"x" * 3000, b"y" * 3000).close()
    paths = [os.path.join(tmp, n) for n in ("be.pcap", "sll.pcap", "two.pcapng")]
    with open(paths[0], "wb") as f:
        f.write(struct.pack(">IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, LINK_ETH))
        for ts, b in t.frames:
            f.write(struct.pack(">IIII", int(ts), round(ts % 1 * 1e9), len(b), len(b)) + b)
    write_pcap(paths[1], t.frames, LINK_SLL)
    write_pcapng(paths[2] + ".1", t.frames[:4])
    write_pcapng(paths[2] + ".2", t.frames[4:], LINK_SLL2)
    with open(paths[2], "wb") as f:
        for part in (".1", ".2"):
            with open(paths[2] + part, "rb") as p:
                f.write(p.read())
    seen = []
    for p in paths:
        convs, summary = pcapconv.load(p)
        c = only(convs)
        assert summary.frames == len(t.frames) and not c.skipped, p
        seen.append((c.client, c.server, bytes(c.c2s.data), bytes(c.s2c.data), c.server_end,
                     [(e.kind, e.end, e.gate, e.gate_fin, round(e.delay, 6)) for e in c.events]))
    assert seen[0] == seen[1] == seen[2]
    assert seen[0][2] == b"wraps around 2**32\n" + b"x" * 3000 and seen[0][4] == "FIN"
    assert seen[0][5] == [("data", 19, 0, False, 0.002), ("data", 3019, 19, False, 0.001),
                          ("fin", 3019, 3019, False, 0.001)]


def test_kernel_echo_recording_matches(stack, kernel_echo, tmp):
    """A real echo conversation (two kernels, 3 rounds and FIN), and the same
    frames as a Linux cooked capture (SLL and SLL2) and a pcapng, replayed
    three at once: every one matches byte for byte."""
    path, frames = kernel_echo
    eth = [(float(p.time), bytes(p)) for p in frames]
    write_pcap(os.path.join(tmp, "sll.pcap"), eth, LINK_SLL)
    write_pcap(os.path.join(tmp, "sll2.pcap"), eth, LINK_SLL2)
    write_pcapng(os.path.join(tmp, "echo.pcapng"), eth)
    rc, rows = replay(stack, path, *(os.path.join(tmp, f) for f in
                                     ("sll.pcap", "sll2.pcap", "echo.pcapng")), "--parallel", 4)
    assert rc == 0 and [r["verdict"] for r in rows] == ["match"] * 4, rows
    n = sum(map(len, ROUNDS))
    for r in rows:
        assert r["port"] == 7 and r["c2s"] == [n, n] and r["s2c"] == [n, n], r
        assert r["end"] == ["FIN", "FIN"] and r["recorded"].endswith(f"{SERVER_IP}:7"), r
        assert not r["client"].startswith("198.18.0.1:"), "played from the kernel's own address"


def test_altered_answer_differs_at_its_offset(stack, kernel_echo, tmp):
    """The same recording with one byte of the server's second answer
    changed: the stack's (correct) echo differs, and the verdict names the
    offset in the server's stream and both bytes."""
    from scapy.layers.inet import TCP
    _, frames = kernel_echo
    out, k = [], 5
    for p in frames:
        b = bytes(p)
        if TCP in p and p[TCP].sport == 7 and bytes(p[TCP].payload) == ROUNDS[1]:
            i = len(b) - len(ROUNDS[1]) + k
            b = b[:i] + b"#" + b[i + 1:]
        out.append((float(p.time), b))
    bad = os.path.join(tmp, "altered.pcap")
    write_pcap(bad, out)
    rc, rows = replay(stack, bad)
    r = only(rows)
    off = len(ROUNDS[0]) + k
    assert rc == 1 and r["verdict"] == "DIFFER" and not r["pass"], r
    assert r["difference"].startswith(f"s2c offset {off}: expected 23 "), r
    assert f"seen {ROUNDS[1][k]:02x} " in r["difference"], r
    assert r["s2c"] == [sum(map(len, ROUNDS))] * 2 and r["end"] == ["FIN", "FIN"], r


def test_http_recorded_against_mpstack_matches(stack, tmp):
    """mps-capture records a GET against the stack; the pcapng replayed
    against the same stack matches exactly (capture one build, replay
    against another: the regression test of the README)."""
    path = os.path.join(tmp, "http.pcapng")
    cap = start_capture(stack, path, "--duration", "60")
    try:
        s = stack.connect(80, timeout=scaled(10))
        port = s.getsockname()[1]
        http_client(s)
        s.close()
        # The close is complete (the stack closed first; our FIN ACKed takes
        # the socket out of LAST_ACK, and out of ss), and every worker is
        # past two more iterations: the capture ring holds every frame of it.
        wait_until(lambda: stack.exec("ss", "-Htan", "sport", f"= :{port}").stdout == "",
                   10, "the recorded connection closed (our FIN ACKed)")
        stack.settle()
    finally:
        _, err = stop_capture(cap)
    assert cap.returncode == 0, err
    rc, rows = replay(stack, path)
    r = only(rows)
    assert rc == 0 and r["verdict"] == "match", r
    assert r["port"] == 80 and r["end"] == ["FIN", "FIN"] and r["s2c"][0] > 100, r


@pytest.fixture(scope="module")
def python_http(kernels):
    """A GET / recorded against Python's http.server (port 8000)."""
    d = tempfile.mkdtemp(prefix="mps-replay-http-")
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=d)  # noqa: E731
    with netns(kernels.s):
        srv = http.server.ThreadingHTTPServer((SERVER_IP, 8000), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        path = os.path.join(d, "python-http.pcap")
        kernels.record(path, 8000, http_client)
    finally:
        srv.shutdown()
        srv.server_close()
    yield path
    shutil.rmtree(d, ignore_errors=True)


def test_http_recorded_against_another_server(stack, python_http):
    """Python's http.server answers / with other headers and body than
    mpstack: byte for byte it differs from the first byte that does (the
    status line's protocol version), by status code it matches."""
    rc, rows = replay(stack, python_http, "--port-map", "8000:80")
    r = only(rows)
    assert rc == 1 and r["verdict"] == "DIFFER", r
    assert r["difference"].startswith("s2c offset 7: expected 30 "), r  # HTTP/1.0 vs 1.1
    rc, rows = replay(stack, python_http, "--port-map", "8000:80", "--compare", "status")
    r = only(rows)
    assert rc == 0 and r["verdict"] == "match" and r["port"] == 80, r
    rc, rows = replay(stack, python_http, "--compare", "status")  # no port map: 8000 is closed
    r = only(rows)
    assert rc == 1 and r["end"][1] == "RST", r


def test_fifty_conversations_in_parallel(stack, tmp):
    """50 echo conversations, each from its own recorded client, played all
    at once: every one matches and both workers served some."""
    frames = []
    for i in range(50):
        t = Talk((f"10.50.{i // 200}.{1 + i % 200}", 30000 + i), ("10.50.9.9", 7),
                 t0=1.0 + i * 0.0001, cisn=i * 7919, sisn=i * 104729).open()
        t.round(b"conversation %d " % i * (1 + i % 5)).round(b"bye %d" % i).close()
        frames += t.frames
    frames.sort(key=lambda f: f[0])
    path = os.path.join(tmp, "fifty.pcap")
    write_pcap(path, frames)
    before = stack.counters("tcp_accepted")
    rc, rows = replay(stack, path, "--parallel", 50, "--speed", 0)
    assert rc == 0 and len(rows) == 50, [r for r in rows if not r["pass"]]
    assert len({r["client"] for r in rows}) == 50
    after = stack.counters("tcp_accepted")
    assert all(a > b for a, b in zip(after, before)), (before, after)


def test_noise_only_says_so(stack, tmp):
    """ARP, UDP, ICMP and IPv6 but no TCP: nothing to replay, and it says
    what the file holds."""
    from scapy.layers.inet import ICMP, IP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import ARP, Ether
    e = Ether(src="02:00:00:00:bb:01", dst="ff:ff:ff:ff:ff:ff")
    frames = [e / ARP(psrc="10.9.0.1", pdst="10.9.0.2"),
              e / IP(src="10.9.0.1", dst="10.9.0.255") / UDP(sport=68, dport=67) / (b"x" * 40),
              e / IP(src="10.9.0.1", dst="10.9.0.2") / ICMP(),
              e / IPv6() / b"y"]
    path = os.path.join(tmp, "noise.pcap")
    write_pcap(path, [(1.0 + i, bytes(f)) for i, f in enumerate(frames)])
    rc, rows = replay(stack, path)
    r = only(rows)
    assert rc == 1 and r["verdict"] == "nothing to replay", r
    assert r["difference"] == "no TCP conversation: 4 frames, 1 ARP, 1 ICMP, 1 UDP, 1 other", r


def test_icmp_and_arp_exchanges(stack, tmp):
    """A ping and an ARP request to the recorded server, answered there, are
    asked of the stack too; a recorded echo reply with other bytes than the
    request's differs (the stack echoes the request's)."""
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.l2 import ARP, Ether
    cl, sv = ("10.80.0.1", 43000), ("10.80.0.2", 7)
    t = Talk(cl, sv).open().round(b"ping and arp\n").close()
    e = Ether(src="02:00:00:00:aa:01", dst="02:00:00:00:aa:02")
    x = [e / ARP(op=1, psrc=cl[0], pdst=sv[0]), e / ARP(op=2, psrc=sv[0], pdst=cl[0]),
         e / IP(src=cl[0], dst=sv[0]) / ICMP(type=8, id=7, seq=1) / b"abcdefgh",
         e / IP(src=sv[0], dst=cl[0]) / ICMP(type=0, id=7, seq=1) / b"abcdefgh",
         e / IP(src=cl[0], dst=sv[0]) / ICMP(type=8, id=7, seq=2) / b"abcdefgh",
         e / IP(src=sv[0], dst=cl[0]) / ICMP(type=0, id=7, seq=2) / b"abcXefgh"]
    path = os.path.join(tmp, "asks.pcap")
    write_pcap(path, t.frames + [(5.0 + i, bytes(f)) for i, f in enumerate(x)])
    rc, rows = replay(stack, path, "--speed", 0)
    assert [(r["conversation"], r["verdict"]) for r in rows] == [
        ("#1", "match"), ("arp#1", "match"), ("icmp#1", "match"), ("icmp#2", "DIFFER")], rows
    assert rc == 1 and rows[3]["difference"].startswith("reply offset 3: expected 58 "), rows[3]
    assert rows[1]["client"] == rows[2]["client"] == rows[0]["client"].split(":")[0]


def test_what_real_captures_hold(stack, tmp):
    """One Linux cooked (SLL2) capture with: a GRO super-segment each way
    with wrong checksums; a retransmission, a duplicate and an overlapping
    resend; timestamp and window-scale options; a conversation that started
    before the capture (skipped and reported); and, in a second file with a
    snaplen, payloads cut short (compared by length, noted)."""
    opts = [("MSS", 65495), ("SAckOK", b""), ("Timestamp", (1, 0)), ("WScale", 7)]
    cl, sv = ("10.60.0.1", 41000), ("10.60.0.2", 7)
    big = bytes(range(256)) * 40  # 10240 bytes
    gro = Talk(cl, sv, bad_csum=True).open(opts).round(big).round(b"tail\n").close()
    rt = Talk(("10.60.0.3", 41001), sv, t0=2.0).open(opts)
    rt.seg("c", "PA", b"abcdefgh")
    rt.seg("c", "PA", b"abcdefgh", seq=rt.cseq - 8)            # retransmitted
    rt.seg("c", "PA", b"efghijkl", seq=rt.cseq - 4).cseq += 4  # overlapping resend
    rt.frames.append(rt.frames[-1])                            # duplicate (two interfaces)
    rt.seg("s", "PA", b"abcdefghijkl").close()
    mid = Talk(("10.60.0.4", 41002), sv, t0=3.0)
    mid.round(b"we never saw the SYN\n").close()
    path = os.path.join(tmp, "quirks.pcap")
    write_pcap(path, sorted(gro.frames + rt.frames + mid.frames), LINK_SLL2)
    rc, rows = replay(stack, path, "--speed", 0)
    assert rc == 0 and [r["verdict"] for r in rows] == ["match", "match", "skipped"], rows
    assert rows[0]["c2s"] == [len(big) + 5] * 2 and rows[0]["s2c"] == [len(big) + 5] * 2
    assert rows[1]["c2s"] == [12, 12] and rows[1]["s2c"] == [12, 12], rows[1]
    assert rows[2]["difference"].startswith("starts mid-conversation"), rows[2]

    cut = Talk(cl, sv).open().round(b"0123456789" * 300).close()
    path = os.path.join(tmp, "snaplen.pcap")
    write_pcap(path, cut.frames, snaplen=96)
    rc, rows = replay(stack, path, "--speed", 0)
    r = only(rows)
    assert rc == 0 and r["verdict"] == "match" and r["s2c"] == [3000, 3000], r
    assert any("not in the capture" in n for n in r["notes"]), r


def test_timing_kept_and_table(stack, tmp):
    """Recorded pauses are kept (divided by --speed): a 0.6 s pause at
    speed 2 takes at least 0.3 s. The text table names every column."""
    t = Talk(("10.70.0.1", 42000), ("10.70.0.2", 7)).open().round(b"first\n")
    t.seg("c", "PA", b"second\n", dt=0.6).seg("s", "PA", b"second\n").close()
    path = os.path.join(tmp, "paused.pcap")
    write_pcap(path, t.frames)
    rc, rows = replay(stack, path, "--speed", 2)
    r = only(rows)
    assert rc == 0 and r["verdict"] == "match" and r["seconds"] >= 0.3, r
    out = subprocess.run(["ip", "netns", "exec", stack.ns, "/usr/bin/python3", str(REPLAY),
                          "--prefix", stack.prefix, "--speed", "0", path],
                         capture_output=True, text=True, timeout=scaled(60))
    assert out.returncode == 0, out.stdout + out.stderr
    head, row = out.stdout.splitlines()[:2]
    assert head.split() == ["file", "conv", "client", "port", "c2s", "exp/seen", "s2c",
                            "exp/seen", "end", "exp/seen", "verdict", "first", "difference"]
    assert row.split()[1:] == ["#1", row.split()[2], "7", "13/13", "13/13", "FIN/FIN",
                               "match"], out.stdout
