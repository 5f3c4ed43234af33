"""pcapconv.py - a capture file turned into TCP conversations that can be
replayed: what the client sent (its byte stream, and when), what the
server answered, how the connection ended. Used by scripts/replay.py.

Reads pcap (micro- or nanosecond, either byte order) and pcapng (any
number of sections and interfaces), on Ethernet (802.1Q/802.1ad tags
skipped), Linux cooked captures (SLL and SLL2, `tcpdump -i any`), raw IP
and BSD loopback links. Works on byte streams, not frames: retransmissions
and duplicates (the same segment seen on two interfaces) count once, a
GRO/TSO super-segment is just a longer piece of the stream, checksums and
TCP options are not looked at, and a payload cut by the snaplen is kept
as its length with the missing bytes marked unknown.

    conversations, summary = pcapconv.load(path)

Nothing here sends a frame; this module needs nothing but the standard
library.
"""
import dataclasses
import ipaddress
import struct

# ---------------------------------------------------------------- files

LINK_NULL, LINK_ETHERNET, LINK_RAW, LINK_LOOP = 0, 1, 101, 108
LINK_SLL, LINK_IPV4, LINK_SLL2 = 113, 228, 276
LINK_RAW_ALT = (12, 14)  # DLT_RAW as some systems number it


@dataclasses.dataclass
class Frame:
    """One captured frame: time (s), link type, the captured bytes and the
    frame's length on the wire."""
    ts: float
    link: int
    data: bytes
    wirelen: int


class CaptureError(Exception):
    """The file is neither pcap nor pcapng, or is cut short in a header."""


def read_frames(path):
    """Every frame of a pcap or pcapng file, in file order."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 4:
        raise CaptureError(f"{path}: too short for a capture file")
    magic = blob[:4]
    if magic == b"\x0a\x0d\x0d\x0a":
        return list(_pcapng_frames(blob, path))
    return list(_pcap_frames(blob, path))


def _pcap_frames(blob, path):
    magics = {b"\xd4\xc3\xb2\xa1": ("<", 1e-6), b"\xa1\xb2\xc3\xd4": (">", 1e-6),
              b"\x4d\x3c\xb2\xa1": ("<", 1e-9), b"\xa1\xb2\x3c\x4d": (">", 1e-9)}
    if blob[:4] not in magics or len(blob) < 24:
        raise CaptureError(f"{path}: not a pcap or pcapng file")
    end, unit = magics[blob[:4]]
    link = struct.unpack_from(end + "I", blob, 20)[0] & 0xFFFF
    off = 24
    while off + 16 <= len(blob):
        sec, frac, caplen, wirelen = struct.unpack_from(end + "4I", blob, off)
        off += 16
        yield Frame(sec + frac * unit, link, blob[off:off + caplen], wirelen)
        off += caplen


def _pcapng_frames(blob, path):
    end = "<"
    ifaces = []  # (link type, seconds per tick)
    off = 0
    while off + 12 <= len(blob):
        btype = struct.unpack_from(end + "I", blob, off)[0]
        if btype == 0x0A0D0D0A:  # section header: byte order, fresh interfaces
            bom = blob[off + 8:off + 12]
            end = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            ifaces = []
        blen = struct.unpack_from(end + "I", blob, off + 4)[0]
        if blen < 12 or off + blen > len(blob):
            if off + 12 > len(blob) or blen < 12:
                raise CaptureError(f"{path}: pcapng block at {off} is malformed")
            break  # cut short: keep what came before
        body = blob[off + 8:off + blen - 4]
        if btype == 1:  # interface description
            link = struct.unpack_from(end + "H", body, 0)[0]
            ifaces.append((link, _tsresol(body[8:], end)))
        elif btype == 6 and len(body) >= 20:  # enhanced packet
            iid, hi, lo, caplen, wirelen = struct.unpack_from(end + "5I", body, 0)
            if iid < len(ifaces):
                link, unit = ifaces[iid]
                yield Frame(((hi << 32) | lo) * unit, link, body[20:20 + caplen], wirelen)
        elif btype == 3 and ifaces and len(body) >= 4:  # simple packet
            wirelen = struct.unpack_from(end + "I", body, 0)[0]
            yield Frame(0.0, ifaces[0][0], body[4:4 + wirelen], wirelen)
        elif btype == 2 and len(body) >= 20:  # obsolete packet block
            iid, _drops, hi, lo, caplen, wirelen = struct.unpack_from(end + "HH4I", body, 0)
            if iid < len(ifaces):
                link, unit = ifaces[iid]
                yield Frame(((hi << 32) | lo) * unit, link, body[20:20 + caplen], wirelen)
        off += blen


def _tsresol(opts, end):
    """Seconds per timestamp tick from an interface's options (if_tsresol)."""
    i = 0
    while i + 4 <= len(opts):
        code, ln = struct.unpack_from(end + "HH", opts, i)
        if code == 0:
            break
        if code == 9 and ln >= 1:
            v = opts[i + 4]
            return 2.0 ** -(v & 0x7F) if v & 0x80 else 10.0 ** -v
        i += 4 + ln + (-ln) % 4
    return 1e-6


# ---------------------------------------------------------------- frames

ETH_IPV4, ETH_ARP, ETH_IPV6 = 0x0800, 0x0806, 0x86DD
VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)


def network_layer(fr):
    """(ethertype, payload offset in fr.data, link header length) of a frame,
    or (None, 0, 0) for a link type this module does not know."""
    d, link = fr.data, fr.link
    if link == LINK_ETHERNET:
        off, et = 14, _u16(d, 12)
        while et in VLAN_TPIDS and len(d) >= off + 4:
            et, off = _u16(d, off + 2), off + 4
        return et, off, off
    if link == LINK_SLL:
        return _u16(d, 14), 16, 16
    if link == LINK_SLL2:
        return _u16(d, 0), 20, 20
    if link in (LINK_RAW, LINK_IPV4) + LINK_RAW_ALT:
        v = d[0] >> 4 if d else 0
        return (ETH_IPV4 if v == 4 else ETH_IPV6 if v == 6 else None), 0, 0
    if link in (LINK_NULL, LINK_LOOP):
        fam = struct.unpack_from("<I", d, 0)[0] if len(d) >= 4 else 0
        if fam > 0xFFFF:  # written in the other byte order
            fam = struct.unpack_from(">I", d, 0)[0]
        return (ETH_IPV4 if fam == 2 else ETH_IPV6 if fam in (24, 28, 30) else None), 4, 4
    return None, 0, 0


def _u16(d, off):
    return struct.unpack_from(">H", d, off)[0] if len(d) >= off + 2 else None


@dataclasses.dataclass
class Segment:
    """One TCP segment as captured: payload is what the capture holds of
    it, length what the segment carried on the wire."""
    ts: float
    src: tuple  # (ip, port)
    dst: tuple
    seq: int
    ack: int
    flags: int
    payload: bytes
    length: int


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def decode(fr):
    """("tcp", Segment), ("udp"/"icmp"/"arp"/"ipv6"/"ip-frag"/"other", detail)
    of one frame."""
    et, off, l2 = network_layer(fr)
    d = fr.data
    if et == ETH_ARP:
        return "arp", d[off:]
    if et == ETH_IPV6:
        return "ipv6", None
    if et != ETH_IPV4 or len(d) < off + 20:
        return "other", et
    ihl = (d[off] & 0x0F) * 4
    tot, frag, proto = _u16(d, off + 2), _u16(d, off + 6), d[off + 9]
    if tot == 0:  # a TSO/GRO super-segment larger than 64 KiB says 0
        tot = fr.wirelen - l2
    src, dst = str(ipaddress.IPv4Address(d[off + 12:off + 16])), \
        str(ipaddress.IPv4Address(d[off + 16:off + 20]))
    if frag & 0x3FFF:
        return "ip-frag", (src, dst)
    if proto == 1:
        return "icmp", (src, dst, d[off + ihl:off + tot])
    if proto == 17:
        return "udp", (src, dst)
    if proto != 6:
        return "other", proto
    t = off + ihl
    if len(d) < t + 14:
        return "other", "truncated TCP header"
    sport, dport, seq, ack, doff, flags = struct.unpack_from(">HHIIBB", d, t)
    hl = (doff >> 4) * 4
    length = max(0, tot - ihl - hl)
    payload = d[t + hl:off + tot]
    return "tcp", Segment(fr.ts, (src, sport), (dst, dport), seq, ack, flags,
                          bytes(payload), length)


# ---------------------------------------------------------------- streams

class Stream:
    """One direction's bytes, by offset from the first byte after the SYN.
    Pieces may overlap and repeat; the first capture of a byte wins.
    known marks the bytes the capture holds (a snaplen cut leaves 0s)."""

    def __init__(self):
        self.pieces = []  # (offset, bytes, wire length), capture order
        self.fin = None   # offset of the FIN, if one was seen
        self.length = 0

    def add(self, off, payload, length):
        if length:
            self.pieces.append((off, payload[:length], length))
            self.length = max(self.length, off + length)

    def build(self):
        self.data = bytearray(self.length)
        self.known = bytearray(self.length)
        for off, b, _ln in reversed(self.pieces):  # so the first capture wins
            self.data[off:off + len(b)] = b
            self.known[off:off + len(b)] = b"\x01" * len(b)
        self.unknown = self.length - sum(self.known)
        return self


@dataclasses.dataclass
class Event:
    """Something the recorded client did: sent bytes up to `end` of its
    stream ("data"), or its FIN or RST. It did so at `ts`, `delay` s after
    the last segment it had received with data, SYN or FIN (or its own
    previous event, if later; pure ACKs do not count), having received
    `gate` bytes of the server's stream (and its FIN if gate_fin)."""
    kind: str
    end: int
    ts: float
    delay: float
    gate: int
    gate_fin: bool


@dataclasses.dataclass
class Conversation:
    """One TCP connection of the capture, its client and server sides."""
    index: int
    client: tuple
    server: tuple
    segments: list
    c2s: Stream = None
    s2c: Stream = None
    events: list = dataclasses.field(default_factory=list)
    server_end: str = "-"   # "FIN", "RST" or "-" (still open when the capture ends)
    client_end: str = "-"
    skipped: str = ""       # why it cannot be replayed ("" if it can)
    notes: list = dataclasses.field(default_factory=list)

    @property
    def name(self):
        return f"#{self.index}"


def _off(seq, base):
    """seq as an offset from base, or None if it lies before base."""
    d = (seq - base) & 0xFFFFFFFF
    return None if d >= 1 << 31 else d


def split_conversations(segments):
    """TCP segments grouped by connection (4-tuple; a new SYN after the
    previous connection ended starts another), in order of first segment."""
    convs, current = [], {}
    for s in segments:
        key = frozenset((s.src, s.dst))
        c = current.get(key)
        if c is not None and s.flags & (SYN | ACK) == SYN:
            syns = [x for x in c if x.flags & (SYN | ACK) == SYN]
            ended = any(x.flags & (FIN | RST) for x in c)
            if syns and syns[0].seq != s.seq and ended:
                c = None
        if c is None:
            c = current[key] = []
            convs.append(c)
        c.append(s)
    return convs


def analyse(index, segs, server_hint=None):
    """A Conversation from its segments: who is the server (the side that
    answered the SYN, or server_hint (ip, port or None)), both streams and
    the client's events. Sets .skipped when it cannot be replayed."""
    synack = next((s for s in segs if s.flags & (SYN | ACK) == SYN | ACK), None)
    syn = next((s for s in segs if s.flags & (SYN | ACK) == SYN), None)
    if synack:
        server, client = synack.src, synack.dst
    elif syn:
        server, client = syn.dst, syn.src
    elif server_hint and _matches(segs[0].dst, server_hint):
        server, client = segs[0].dst, segs[0].src
    else:
        server, client = segs[0].src, segs[0].dst
        if server_hint is None and segs[0].dst[1] < segs[0].src[1]:
            server, client = client, server  # the lower port is likelier the server
    if server_hint and not _matches(server, server_hint) and _matches(client, server_hint):
        server, client = client, server
    conv = Conversation(index, client, server, segs)
    if syn is None and synack is None:
        conv.skipped = f"starts mid-conversation (no SYN; {len(segs)} segments)"
        return conv
    c_isn = syn.seq if syn else (synack.ack - 1) & 0xFFFFFFFF
    s_isn = synack.seq if synack else None
    conv.c2s, conv.s2c = Stream(), Stream()
    for s in segs:
        from_client = s.src == client
        st = conv.c2s if from_client else conv.s2c
        base = c_isn if from_client else s_isn
        if base is None:  # the server only ever answered with RST
            if s.flags & RST:
                conv.server_end = "RST"
            continue
        off = _off(s.seq + (1 if s.flags & SYN else 0), (base + 1) & 0xFFFFFFFF)
        if off is None:
            continue
        st.add(off, s.payload, s.length)
        if s.flags & FIN and st.fin is None:
            st.fin = off + s.length
        if s.flags & RST:
            if from_client:
                conv.client_end = conv.client_end if conv.client_end != "-" else "RST"
            elif conv.server_end == "-":
                conv.server_end = "RST"
    if conv.s2c.fin is not None and conv.server_end == "-":
        conv.server_end = "FIN"
    if conv.c2s.fin is not None and conv.client_end == "-":
        conv.client_end = "FIN"
    conv.c2s.build()
    conv.s2c.build()
    conv.events = _client_events(conv, c_isn, s_isn)
    for name, st in (("client", conv.c2s), ("server", conv.s2c)):
        if st.unknown:
            conv.notes.append(f"{name} payload: {st.unknown} of {st.length} bytes not in the "
                              "capture (snaplen or missed), compared by length")
    return conv


def _matches(ep, hint):
    ip, port = hint
    return ep[0] == ip and (port is None or ep[1] == port)


def _client_events(conv, c_isn, s_isn):
    """The client's new data, FIN and RST in capture order, each with the
    server bytes it had acknowledged (what it waited for) and the time
    since the last thing it saw or did."""
    events, hi, last_ts, last_gate = [], 0, None, (0, False)
    fin_sent = rst_sent = False
    s_fin = conv.s2c.fin
    for s in conv.segments:
        if s.src == conv.server:
            if s.length or s.flags & (FIN | SYN):
                last_ts = s.ts
            continue
        gate = last_gate
        if s.flags & ACK and s_isn is not None:
            a = _off(s.ack, (s_isn + 1) & 0xFFFFFFFF)
            if a is not None:
                if s_fin is not None and a > s_fin:
                    gate = (s_fin, True)
                else:
                    gate = (min(a, conv.s2c.length), False)
        if s.flags & SYN:
            last_ts = s.ts
            continue
        off = _off(s.seq, (c_isn + 1) & 0xFFFFFFFF)
        kinds = []
        if off is not None and s.length and off + s.length > hi:
            hi = off + s.length
            kinds.append(("data", hi))
        if s.flags & FIN and not fin_sent:
            fin_sent = True
            kinds.append(("fin", conv.c2s.length))
        if s.flags & RST and not rst_sent:
            rst_sent = True
            kinds.append(("rst", conv.c2s.length))
        for kind, end in kinds:
            delay = max(0.0, s.ts - last_ts) if last_ts is not None else 0.0
            events.append(Event(kind, end, s.ts, delay, gate[0], gate[1]))
            last_ts = s.ts
        last_gate = gate
    return events


# ---------------------------------------------------------------- a file

@dataclasses.dataclass
class Exchange:
    """An ICMP echo request or an ARP request of the capture, and whether
    (and with what payload) it was answered there."""
    kind: str       # "icmp" or "arp"
    ts: float
    client: str     # who asked
    target: str     # whom it asked
    ident: int = 0
    seq: int = 0
    payload: bytes = b""
    answer: bytes = None  # the echo reply's payload / b"" for an ARP reply; None: unanswered
    index: int = 0

    @property
    def name(self):
        return f"{self.kind}#{self.index}"


@dataclasses.dataclass
class Summary:
    """What a capture holds besides its TCP conversations."""
    frames: int = 0
    tcp: int = 0
    arp: int = 0
    icmp: int = 0
    udp: int = 0
    other: int = 0
    links: set = dataclasses.field(default_factory=set)
    exchanges: list = dataclasses.field(default_factory=list)  # Exchange, capture order

    def describe(self):
        parts = [f"{self.frames} frames"]
        for k in ("tcp", "arp", "icmp", "udp", "other"):
            n = getattr(self, k)
            if n:
                parts.append(f"{n} {k.upper() if k != 'other' else 'other'}")
        return ", ".join(parts)


def parse_server(spec):
    """"ADDR[:PORT]" -> (ip, port or None)."""
    if spec is None:
        return None
    ip, _, port = spec.partition(":")
    return str(ipaddress.IPv4Address(ip)), int(port) if port else None


def load(path, server=None):
    """(conversations, Summary) of one capture file. server: (ip, port or
    None) of the side to play against the stack, or None to take the side
    that answered each SYN. Conversations not involving server are left
    out (counted in the summary's tcp figure only)."""
    summary = Summary()
    segs = []
    for fr in read_frames(path):
        summary.frames += 1
        summary.links.add(fr.link)
        kind, detail = decode(fr)
        if kind == "tcp":
            summary.tcp += 1
            segs.append(detail)
        elif kind == "icmp":
            summary.icmp += 1
            _icmp(summary, fr.ts, *detail)
        elif kind == "arp":
            summary.arp += 1
            _arp(summary, fr.ts, detail)
        elif kind == "udp":
            summary.udp += 1
        else:
            summary.other += 1
    convs = []
    for group in split_conversations(segs):
        c = analyse(len(convs) + 1, group, server)
        if server and not _matches(c.server, server):
            continue
        convs.append(c)
    return convs, summary


def _icmp(summary, ts, src, dst, body):
    if len(body) < 8 or body[0] not in (0, 8):
        return
    ident, seq = struct.unpack_from(">HH", body, 4)
    if body[0] == 8:
        summary.exchanges.append(Exchange("icmp", ts, src, dst, ident, seq, bytes(body[8:])))
        return
    for x in summary.exchanges:
        if (x.kind, x.client, x.target, x.ident, x.seq) == ("icmp", dst, src, ident, seq) \
                and x.answer is None:
            x.answer = bytes(body[8:])


def _arp(summary, ts, d):
    if len(d) < 28 or d[:6] != b"\x00\x01\x08\x00\x06\x04":  # Ethernet, IPv4
        return
    op = _u16(d, 6)
    spa, tpa = str(ipaddress.IPv4Address(d[14:18])), str(ipaddress.IPv4Address(d[24:28]))
    if op == 1 and spa != tpa:  # a request (not a gratuitous announcement)
        summary.exchanges.append(Exchange("arp", ts, spa, tpa))
    elif op == 2:
        for x in summary.exchanges:
            if (x.kind, x.client, x.target) == ("arp", tpa, spa) and x.answer is None:
                x.answer = b""


def exchanges_for(summary, servers):
    """The ICMP echo and ARP requests to replay: those to one of servers
    (the recorded servers' addresses), or with no servers, those answered
    in the capture. Numbered per kind."""
    out, n = [], {}
    for x in summary.exchanges:
        if x.target in servers if servers else x.answer is not None:
            n[x.kind] = n.get(x.kind, 0) + 1
            x.index = n[x.kind]
            out.append(x)
    return out


# ---------------------------------------------------------------- HTTP

def http_responses(data, complete_at_end):
    """[(end offset, status line)] of the HTTP responses at the start of a
    server stream, each once complete (Content-Length, chunked, or -- with
    neither -- the end of the stream if complete_at_end). Stops at the
    first thing that is not a response."""
    out, pos = [], 0
    data = bytes(data)
    while pos < len(data):
        if not data.startswith(b"HTTP/", pos):
            break
        hdr_end = data.find(b"\r\n\r\n", pos)
        if hdr_end < 0:
            break
        head = data[pos:hdr_end].split(b"\r\n")
        status = head[0].decode("latin-1")
        fields = {}
        for line in head[1:]:
            k, _, v = line.partition(b":")
            fields[k.strip().lower()] = v.strip().lower()
        body = hdr_end + 4
        code = status.split(" ")[1] if " " in status else ""
        if code[:1] == "1" or code in ("204", "304"):
            end = body
        elif b"content-length" in fields:
            end = body + int(fields[b"content-length"] or 0)
        elif b"chunked" in fields.get(b"transfer-encoding", b""):
            end = _chunked_end(data, body)
        else:
            end = len(data) if complete_at_end else None
        if end is None or end > len(data):
            break
        out.append((end, status))
        pos = end
    return out


def _chunked_end(data, pos):
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return None
        try:
            n = int(data[pos:eol].split(b";")[0], 16)
        except ValueError:
            return None
        pos = eol + 2 + n + 2
        if n == 0:
            # trailers end with an empty line
            t = data.find(b"\r\n\r\n", eol)
            return pos if data[eol + 2:eol + 4] == b"\r\n" else (t + 4 if t >= 0 else None)
        if pos > len(data):
            return None
