"""tcpplay.py - plays the client side of recorded TCP conversations
(pcapconv.Conversation) against a live stack and keeps what it answered.
Used by scripts/replay.py.

Each conversation is played from an on-link client address the kernel
does not own (the kernel would reset the stack's answers otherwise), with
its own MAC, over one packet socket on the stack's link whose BPF filter
takes only the stack's frames. The player is a small TCP client of its
own: a fresh ISN, the stack's sequence numbers, the recorded client's byte
stream cut to the stack's MSS and window, each piece released when the
recorded client sent it -- once the stack has sent what the recorded
client had received by then (its ACK), and after the recorded pause
divided by the speed -- go-back-N retransmission, every segment of the
stack ACKed at once, and ARP answered for the client addresses. A stack
that goes quiet for `idle` seconds counts as done answering.
"""
import array
import collections
import ipaddress
import random
import select
import socket
import struct
import time

import pcapconv

ETH_P_ALL = 0x0003
SOL_PACKET, PACKET_STATISTICS = 263, 6
SO_ATTACH_FILTER, SO_RCVBUFFORCE = 26, 33
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
OUR_WINDOW = 65535  # no window scaling: the stack never has more in flight


def mac_bytes(mac):
    return bytes.fromhex(mac.replace(":", ""))


def client_mac(ip):
    """The MAC a client address plays with: 02:00 and the address's bytes
    (locally administered, the same for an address on every run: the
    stack's neighbour table never changes a learned MAC)."""
    return b"\x02\x00" + ipaddress.IPv4Address(ip).packed


def checksum(b):
    """The Internet checksum of b, as the 2 bytes to put in a header."""
    if len(b) & 1:
        b += b"\0"
    s = sum(array.array("H", b))  # host order: the sum commutes with the swap
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return struct.pack("=H", ~s & 0xFFFF)


def tcp_frame(src_mac, dst_mac, src_ip, dst_ip, sport, dport, seq, ack, flags,
              payload=b"", options=b"", ip_id=0):
    """An Ethernet/IPv4/TCP frame with both checksums (addresses as bytes)."""
    tlen = 20 + len(options) + len(payload)
    th = struct.pack(">HHIIBBH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                     (5 + len(options) // 4) << 4, flags, OUR_WINDOW)
    pseudo = src_ip + dst_ip + struct.pack(">BBH", 0, 6, tlen)
    csum = checksum(pseudo + th + b"\0\0\0\0" + options + payload)
    ih = struct.pack(">BBHHHBB", 0x45, 0, 20 + tlen, ip_id & 0xFFFF, 0x4000, 64, 6)
    ih += b"\0\0" + src_ip + dst_ip
    ih = ih[:10] + checksum(ih) + ih[12:]
    return dst_mac + src_mac + b"\x08\x00" + ih + th + csum + b"\0\0" + options + payload


class Link:
    """A packet socket on iface that receives only frames from one MAC."""

    def __init__(self, iface, src_mac):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)  # no frames yet
        m = mac_bytes(src_mac)
        hi, lo = struct.unpack(">IH", m)
        prog = [(0x20, 0, 0, 6),       # ld [6]: source MAC, first 4 bytes
                (0x15, 0, 3, hi),      # jeq hi, else drop
                (0x28, 0, 0, 10),      # ldh [10]: its last 2 bytes
                (0x15, 0, 1, lo),      # jeq lo, else drop
                (0x06, 0, 0, 0xFFFF),  # ret: the whole frame
                (0x06, 0, 0, 0)]       # ret: drop
        self._insns = b"".join(struct.pack("=HBBI", *i) for i in prog)
        import ctypes
        self._buf = ctypes.create_string_buffer(self._insns)
        fprog = struct.pack("@HP", len(prog), ctypes.addressof(self._buf))
        s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        try:
            s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
        except PermissionError:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        s.bind((iface, ETH_P_ALL))  # the filter is on before the first frame
        s.setblocking(False)
        self.sock, self.drops, self.sent = s, 0, 0

    def send(self, frame):
        self.sock.send(frame)
        self.sent += 1

    def recv_all(self, limit=4096):
        out = []
        for _ in range(limit):
            try:
                out.append(self.sock.recv(65536))
            except BlockingIOError:
                break
        return out

    def count_drops(self):
        """Frames the kernel dropped for this socket so far (queue full)."""
        _pk, dr = struct.unpack("II", self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        self.drops += dr  # the kernel resets the figures on every read
        return self.drops

    def close(self):
        self.sock.close()


def _off(seq, base):
    d = (seq - base) & 0xFFFFFFFF
    return None if d >= 1 << 31 else d


class Play:
    """One conversation's client, played against the stack."""

    def __init__(self, conv, client_ip, client_port, stack_ip, stack_mac, stack_port, opts):
        self.conv, self.opts = conv, opts
        self.cip, self.cport, self.sport = client_ip, client_port, stack_port
        self.cipb, self.cmac = ipaddress.IPv4Address(client_ip).packed, client_mac(client_ip)
        self.sipb, self.smac = ipaddress.IPv4Address(stack_ip).packed, mac_bytes(stack_mac)
        self.data = bytes(conv.c2s.data)  # unknown bytes (snaplen) are zeros
        self.events = conv.events
        self.iss = random.getrandbits(32)
        self.ip_id = random.getrandbits(16)
        self.state = "new"      # syn-sent, open, done
        self.finished = False
        self.ev = 0             # next event
        self.fire_at = None     # when the next event fires (its gate is met)
        self.released = 0       # client bytes the events let go so far
        self.fin_released = self.rst_released = False
        self.snd_una = self.snd_nxt = self.snd_max = 0
        self.fin_sent = self.fin_acked = False
        self.peer_wnd, self.mss = 0, 536
        self.irs = None
        self.rcv = bytearray()
        self.ooo = {}
        self.stack_fin = None   # offset of the stack's FIN
        self.stack_end = "-"
        self.rto_at, self.rto_n = None, 0
        self.retransmits = 0
        self.forced = 0         # gates passed because the stack went quiet
        self.notes = []
        self.rst_by_us = False
        self.started = self.last_activity = None
        self.status_mode = opts.compare == "status"
        self.rec_responses = []
        if self.status_mode:
            rec = pcapconv.http_responses(conv.s2c.data, conv.server_end == "FIN")
            self.rec_responses = rec
            self.gate_responses = [sum(1 for end, _ in rec if end <= e.gate) for e in self.events]
        self._resp_cache = (-1, None, [])

    # ---- frames out

    def _send(self, link, flags, seq_off, payload=b"", options=b""):
        seq = self.iss if flags & SYN else self.iss + 1 + seq_off
        ack = 0
        if self.irs is not None:
            ack = self.irs + 1 + len(self.rcv) + (1 if self.stack_end == "FIN" else 0)
            flags |= ACK
        self.ip_id += 1
        link.send(tcp_frame(self.cmac, self.smac, self.cipb, self.sipb, self.cport,
                            self.sport, seq, ack, flags, payload, options, self.ip_id))

    def start(self, link, now):
        self.started = self.last_activity = now
        self.state = "syn-sent"
        self._send(link, SYN, 0, options=struct.pack(">BBH", 2, 4, 1460))
        self.rto_at = now + self.opts.rto

    # ---- frames in

    def on_segment(self, link, now, seq, ack, flags, wnd, options, payload):
        if self.finished:
            if flags & FIN and self.stack_end == "FIN" and self.fin_acked:
                self._send(link, 0, self.snd_nxt + 1)  # our last ACK was lost
            return
        self.last_activity = now
        if flags & RST:
            if self.state == "syn-sent" and not (flags & ACK and ack == (self.iss + 1) & 0xFFFFFFFF):
                return
            if self.stack_end == "-":
                self.stack_end = "RST"
            else:
                self.notes.append(f"stack reset after its {self.stack_end}")
            self.state = "done"
            return
        if self.state == "syn-sent":
            if flags & (SYN | ACK) != SYN | ACK or ack != (self.iss + 1) & 0xFFFFFFFF:
                return
            self.irs, self.state = seq, "open"
            self.mss = _mss(options) or 536
            self.peer_wnd, self.rto_at, self.rto_n = wnd, None, 0
            self._send(link, 0, 0)
            return
        if self.irs is None:
            return
        if flags & SYN:  # the SYN-ACK again: our ACK was lost
            self._send(link, 0, self.snd_nxt)
            return
        if flags & ACK:
            self._on_ack(now, ack, wnd)
        off = _off(seq, self.irs + 1)
        if off is None:
            return
        if payload:
            self._take(off, payload)
        if flags & FIN and self.stack_fin is None:
            self.stack_fin = off + len(payload)
        if self.stack_fin is not None and len(self.rcv) == self.stack_fin and self.stack_end == "-":
            self.stack_end = "FIN"
        if payload or flags & FIN:
            self._send(link, 0, self.snd_nxt + (1 if self.fin_sent else 0))

    def _take(self, off, payload):
        have = len(self.rcv)
        if off > have:
            self.ooo.setdefault(off, payload)
            return
        if off + len(payload) > have:
            self.rcv += payload[have - off:]
        while self.ooo:
            nxt = [o for o in self.ooo if o <= len(self.rcv)]
            if not nxt:
                break
            for o in nxt:
                p = self.ooo.pop(o)
                if o + len(p) > len(self.rcv):
                    self.rcv += p[len(self.rcv) - o:]

    def _on_ack(self, now, ack, wnd):
        a = _off(ack, self.iss + 1)
        if a is None:
            return
        self.peer_wnd = wnd
        fin_off = len(self.data)
        if self.fin_sent and a == fin_off + 1:
            self.fin_acked, a = True, fin_off
        if self.snd_una < a <= self.snd_max:
            self.snd_una = a
            self.snd_nxt = max(self.snd_nxt, a)
            self.rto_n = 0
            self.rto_at = now + self.opts.rto if self._unacked() else None
        elif self.fin_acked and not self._unacked():
            self.rto_at = None

    def _unacked(self):
        return self.snd_una < self.snd_nxt or (self.fin_sent and not self.fin_acked)

    # ---- time

    def _responses(self):
        n, end, rs = self._resp_cache
        if n != len(self.rcv) or end != self.stack_end:
            rs = pcapconv.http_responses(self.rcv, self.stack_end == "FIN")
            self._resp_cache = (len(self.rcv), self.stack_end, rs)
        return rs

    def _gate_met(self, i):
        e = self.events[i]
        if self.stack_end == "FIN" and not self._gate_reached(e, i):
            self.forced += 1  # the stack closed: what it has not sent will not come
            return True
        return self._gate_reached(e, i)

    def _gate_reached(self, e, i):
        if self.status_mode and self.rec_responses:
            ok = len(self._responses()) >= self.gate_responses[i]
        else:
            ok = len(self.rcv) >= e.gate
        return ok and (not e.gate_fin or self.stack_end == "FIN")

    def _expected_done(self):
        """The stack sent all the recorded server sent (and its end)."""
        c = self.conv
        if self.status_mode and self.rec_responses:
            full = len(self._responses()) >= len(self.rec_responses)
        else:
            full = len(self.rcv) >= c.s2c.length
        return full and (c.server_end != "FIN" or self.stack_end == "FIN")

    def tick(self, link, now):
        """Fires due events, sends what may be sent, retransmits, and
        decides whether the conversation is over."""
        if self.finished:
            return
        quiet = now - self.last_activity >= self.opts.idle
        if self.state == "open":
            while self.ev < len(self.events):
                if self.fire_at is None:
                    if not self._gate_met(self.ev):
                        if not quiet:
                            break
                        self.forced += 1
                    self.fire_at = now + (self.events[self.ev].delay / self.opts.speed
                                          if self.opts.speed else 0.0)
                if now < self.fire_at:
                    break
                e = self.events[self.ev]
                if e.kind == "data":
                    self.released = max(self.released, e.end)
                elif e.kind == "fin":
                    self.fin_released = True
                    self.released = len(self.data)
                else:
                    self.rst_released = True
                self.ev += 1
                self.fire_at = None
                self.last_activity = now
        if self.rto_at is not None and now >= self.rto_at:
            self._retransmit(link, now)
        if self.state == "open":
            self._output(link, now)
        self._maybe_finish(link, now)

    def _retransmit(self, link, now):
        self.retransmits += 1
        self.rto_n += 1
        self.rto_at = now + min(self.opts.rto * (2 ** self.rto_n), 2.0)
        if self.state == "syn-sent":
            self._send(link, SYN, 0, options=struct.pack(">BBH", 2, 4, 1460))
            return
        self.snd_nxt = self.snd_una  # go back N
        if not self.fin_acked:
            self.fin_sent = False
        if self.peer_wnd == 0 and self.snd_una < self.released:  # window probe
            self._send(link, PSH, self.snd_una, self.data[self.snd_una:self.snd_una + 1])

    def _output(self, link, now):
        if self.rst_released:
            self._send(link, RST, self.snd_nxt + (1 if self.fin_sent else 0))
            self.state = "done"
            return
        limit = min(self.released, self.snd_una + self.peer_wnd)
        while self.snd_nxt < limit:
            n = min(self.mss, limit - self.snd_nxt)
            self._send(link, PSH, self.snd_nxt, self.data[self.snd_nxt:self.snd_nxt + n])
            self.snd_nxt += n
            self.snd_max = max(self.snd_max, self.snd_nxt)
            if self.rto_at is None:
                self.rto_at = now + self.opts.rto
        if (self.fin_released and not self.fin_sent and self.snd_nxt == len(self.data)):
            self._send(link, FIN, self.snd_nxt)
            self.fin_sent = True
            if self.rto_at is None:
                self.rto_at = now + self.opts.rto

    def _maybe_finish(self, link, now):
        quiet = now - self.last_activity >= self.opts.idle
        over = False
        if self.state == "done":
            over = True
        elif self.state == "syn-sent":
            if now - self.started >= self.opts.timeout:
                self.notes.append("no answer to the SYN")
                over = True
        else:
            ours_done = self.ev >= len(self.events) and not self._unacked() \
                and self.snd_una >= self.released
            if ours_done and (self.stack_end == "FIN" or self._expected_done()
                              and self.conv.server_end != "-"):
                over = True
            elif ours_done and quiet:
                over = True
            elif now - self.last_activity >= self.opts.timeout:
                self.notes.append(f"stalled: nothing for {self.opts.timeout:g} s")
                over = True
        if not over:
            return
        self.finished = True
        self.ended_at = now
        closed = self.stack_end == "RST" or self.state == "done" or \
            (self.stack_end == "FIN" and self.fin_acked)
        if not closed and self.irs is not None:
            self._send(link, RST, self.snd_nxt + (1 if self.fin_sent else 0))
            self.rst_by_us = True

    def wake(self, now):
        """When tick() must run again: the next deadline still ahead."""
        t = [self.last_activity + self.opts.idle, self.last_activity + self.opts.timeout,
             self.fire_at, self.rto_at]
        return min((x for x in t if x is not None and x > now), default=now + 0.05)


class Ask:
    """One recorded ICMP echo request or ARP request, asked of the stack
    from the client's address (resent every second until answered, for
    `timeout` s)."""

    def __init__(self, x, client_ip, stack_ip, stack_mac, opts):
        self.x, self.opts = x, opts
        self.cip, self.cport, self.sport = client_ip, "", ""
        self.cipb, self.cmac = ipaddress.IPv4Address(client_ip).packed, client_mac(client_ip)
        self.sipb, self.smac = ipaddress.IPv4Address(stack_ip).packed, mac_bytes(stack_mac)
        self.key = (self.cipb, ("icmp", x.ident, x.seq) if x.kind == "icmp" else ("arp",))
        self.answer, self.finished, self.next_send = None, False, None

    def _frame(self):
        if self.x.kind == "arp":
            return (b"\xff" * 6 + self.cmac + b"\x08\x06" + b"\x00\x01\x08\x00\x06\x04\x00\x01" +
                    self.cmac + self.cipb + b"\0" * 6 + self.sipb)
        icmp = struct.pack(">BBHHH", 8, 0, 0, self.x.ident, self.x.seq) + self.x.payload
        icmp = icmp[:2] + checksum(icmp) + icmp[4:]
        ih = struct.pack(">BBHHHBB", 0x45, 0, 20 + len(icmp), 0, 0x4000, 64, 1)
        ih += b"\0\0" + self.cipb + self.sipb
        ih = ih[:10] + checksum(ih) + ih[12:]
        return self.smac + self.cmac + b"\x08\x00" + ih + icmp

    def start(self, link, now):
        self.started = now
        self.tick(link, now)

    def on_answer(self, now, payload):
        if self.answer is None:
            self.answer, self.finished, self.ended_at = payload, True, now

    def tick(self, link, now):
        if self.finished:
            return
        if now - self.started >= self.opts.timeout:
            self.finished, self.ended_at = True, now
        elif self.next_send is None or now >= self.next_send:
            link.send(self._frame())
            self.next_send = now + 1.0

    def wake(self, now):
        return min(self.next_send, self.started + self.opts.timeout)

    def verdict(self):
        x = self.x
        want = "no answer" if x.answer is None else "answer"
        got = "no answer" if self.answer is None else "answer"
        diff = ""
        if want != got:
            diff = f"expected {want}, seen {got}"
        elif x.answer is not None and x.kind == "icmp" and self.answer != x.answer:
            off = first_difference(x.answer, b"\x01" * len(x.answer), self.answer)
            diff = f"reply offset {off}: expected {_hex(x.answer[off:])} seen {_hex(self.answer[off:])}"
        n = len(x.payload)
        exp_len = "" if x.answer is None else len(x.answer)
        return {"conversation": x.name, "client": self.cip,
                "recorded": f"{x.client} > {x.target}", "port": "",
                "c2s": [n, n], "s2c": [exp_len, "" if self.answer is None else len(self.answer)],
                "end": [want, got], "verdict": "DIFFER" if diff else "match",
                "difference": diff, "seconds": round(self.ended_at - self.started, 3),
                "notes": [], "pass": not diff}


def _mss(options):
    i = 0
    while i < len(options):
        kind = options[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(options):
            break
        ln = options[i + 1]
        if kind == 2 and ln == 4 and i + 4 <= len(options):
            return struct.unpack_from(">H", options, i + 2)[0]
        i += max(ln, 2)
    return None


class Replayer:
    """Runs Plays over one Link, at most `parallel` at once."""

    def __init__(self, link, stack_ip):
        self.link = link
        self.stack_ip = ipaddress.IPv4Address(stack_ip).packed
        self.arp_answered = 0

    def run(self, plays, parallel):
        pending = collections.deque(plays)
        active, by_key, clients = [], {}, {}
        for p in plays:
            by_key[getattr(p, "key", (p.cipb, p.cport))] = p
            clients[p.cipb] = p.cmac
        while pending or active:
            now = time.monotonic()
            while pending and len(active) < parallel:
                p = pending.popleft()
                p.start(self.link, now)
                active.append(p)
            wait = max(0.0, min(p.wake(now) for p in active) - now) if active else 0
            select.select([self.link.sock], [], [], min(wait, 0.05))
            for f in self.link.recv_all():
                self._dispatch(f, time.monotonic(), by_key, clients)
            now = time.monotonic()
            for p in active:
                p.tick(self.link, now)
            active = [p for p in active if not p.finished]
        self.link.count_drops()

    def _dispatch(self, f, now, by_key, clients):
        if len(f) < 34:
            return
        et = f[12:14]
        if et == b"\x08\x06" and len(f) >= 42:
            op, sha, spa, tpa = f[20:22], f[22:28], f[28:32], f[38:42]
            if op == b"\x00\x01" and tpa in clients:
                mac = clients[tpa]
                self.link.send(sha + mac + b"\x08\x06" + b"\x00\x01\x08\x00\x06\x04\x00\x02" +
                               mac + tpa + sha + spa)
                self.arp_answered += 1
            elif op == b"\x00\x02" and spa == self.stack_ip and (tpa, ("arp",)) in by_key:
                by_key[(tpa, ("arp",))].on_answer(now, b"")
            return
        if et != b"\x08\x00" or f[26:30] != self.stack_ip:
            return
        ihl = (f[14] & 0x0F) * 4
        tot = struct.unpack_from(">H", f, 16)[0]
        t = 14 + ihl
        if f[23] == 1 and len(f) >= t + 8 and f[t] == 0:  # echo reply
            ident, seq = struct.unpack_from(">HH", f, t + 4)
            p = by_key.get((f[30:34], ("icmp", ident, seq)))
            if p is not None:
                p.on_answer(now, bytes(f[t + 8:14 + tot]))
            return
        if f[23] != 6:
            return
        if len(f) < t + 20:
            return
        _sp, dport, seq, ack, doff, flags, wnd = struct.unpack_from(">HHIIBBH", f, t)
        p = by_key.get((f[30:34], dport))
        if p is None:
            return
        hl = (doff >> 4) * 4
        p.on_segment(self.link, now, seq, ack, flags, wnd, f[t + 20:t + hl],
                     bytes(f[t + hl:14 + tot]))
        p.tick(self.link, now)


# ---------------------------------------------------------------- verdicts

def _hex(b, known=None, n=8):
    """Up to n bytes in hex ("??" where the capture does not hold them),
    then as text."""
    idx = range(min(n, len(b)))
    if not idx:
        return "(end)"
    unknown = [known is not None and not known[i] for i in idx]
    hx = " ".join("??" if u else f"{b[i]:02x}" for i, u in zip(idx, unknown))
    txt = "".join("?" if u else chr(b[i]) if 32 <= b[i] < 127 else "." for i, u in zip(idx, unknown))
    return f"{hx} |{txt}|"


def first_difference(exp, known, seen):
    """Offset of the first byte where seen differs from exp (bytes exp does
    not know match anything), or None if they are equal."""
    n = min(len(exp), len(seen))
    if bytes(exp[:n]) != bytes(seen[:n]):
        for i in range(n):
            if known[i] and exp[i] != seen[i]:
                return i
    return None if len(exp) == len(seen) else n


def verdict(play, mode):
    """A row for the table: what was expected and seen, the verdict and
    the first difference. mode: "exact", "length" or "status"."""
    c = play.conv
    diffs = []
    if play.irs is None and play.stack_end != "RST":
        diffs.append("no answer to the SYN")
    if play.snd_una < c.c2s.length and play.irs is not None:
        diffs.append(f"the stack took {play.snd_una} of the client's {c.c2s.length} bytes")
    exp, seen = c.s2c, play.rcv
    if mode == "exact":
        off = first_difference(exp.data, exp.known, seen)
        if off is not None:
            diffs.append(f"s2c offset {off}: expected {_hex(exp.data[off:], exp.known[off:])}"
                         f" seen {_hex(seen[off:])}")
    elif mode == "length" or not play.rec_responses:
        if len(seen) != exp.length:
            diffs.append(f"s2c length: expected {exp.length} seen {len(seen)}")
    else:
        want = [s for _, s in play.rec_responses]
        got = [s for _, s in play._responses()]
        for i in range(max(len(want), len(got))):
            w = want[i] if i < len(want) else "(none)"
            g = got[i] if i < len(got) else "(none)"
            if w.split(" ")[1:2] != g.split(" ")[1:2]:
                diffs.append(f"response {i + 1}: expected '{w}' seen '{g}'")
                break
    if c.server_end != play.stack_end:
        diffs.append(f"end: expected {c.server_end} seen {play.stack_end}")
    notes = list(c.notes) + play.notes
    if play.forced:
        notes.append(f"{play.forced} client step(s) sent before the stack had sent what the "
                     "recorded client had received (it went quiet or closed)")
    if play.retransmits:
        notes.append(f"{play.retransmits} retransmission timeout(s)")
    return {"conversation": c.name, "client": f"{play.cip}:{play.cport}",
            "recorded": f"{c.client[0]}:{c.client[1]} > {c.server[0]}:{c.server[1]}",
            "port": play.sport,
            "c2s": [c.c2s.length, play.snd_una], "s2c": [exp.length, len(seen)],
            "end": [c.server_end, play.stack_end],
            "verdict": "match" if not diffs else "DIFFER",
            "difference": diffs[0] if diffs else "",
            "seconds": round(play.ended_at - play.started, 3),
            "notes": notes, "pass": not diffs}
