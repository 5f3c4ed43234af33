#!/usr/bin/python3
"""Replays pcaps into a running mpstack and gives a verdict. Run it inside
the stack's network namespace (make replay does):

    ip netns exec mpstack scripts/replay.py --prefix mpstack [FILE ...]

A file with an entry in pcaps/manifest.json (the pcaps this repository
generates, named as in pcaps/) is checked against that entry: its frames,
with the manifest's placeholder MAC rewritten to the stack's, are sent
with scapy's sendp and the answers (mps.Sniffer) and counters (telemetry)
are compared with the manifest's expectations (pcap, check, expected,
seen, result). With no FILE, every manifest pcap.

Any other pcap or pcapng (tcpdump, tshark, mps-capture) is replayed as
TCP conversations (scripts/pcapconv.py reads them, scripts/tcpplay.py
plays them): the side that answered each SYN (or --server) becomes the
stack, each client is played statefully from an on-link address the
kernel does not own, and what the stack sends back is compared with what
the recorded server sent (conversation, client, port, bytes each way,
end, verdict, first difference).

ICMP echo and ARP requests and UDP datagrams to a recorded server are
asked of the stack too (rows icmp#N, arp#N, udp#N).

Exit status 1 if any row failed: a check or conversation that differs, a
file that held nothing to replay or compared nothing (every conversation
skipped). --json prints the rows as JSON, all with the same fields (see
row() and the README).
"""
import argparse
import ipaddress
import json
import logging
import pathlib
import random
import subprocess
import sys
import time

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

from scapy.all import conf, rdpcap, sendp  # noqa: E402
from scapy.layers.inet import ICMP, IP, TCP  # noqa: E402
from scapy.layers.l2 import ARP, Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

from mps import NoStack, Sniffer, telemetry, worker_slots, workers_settled  # noqa: E402
import pcapconv  # noqa: E402
import tcpplay  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
PCAPS = REPO / "pcaps"


def wait_until(pred, timeout, interval=0.05):
    """pred()'s value once true, or its last (false) value after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


def stack_mac(stack_ip, iface, timeout):
    """The stack's MAC as the kernel in this namespace resolved it: pings
    until the neighbour entry has it (or timeout s)."""
    def resolved():
        subprocess.run(["ping", "-c", "1", "-W", "1", "-I", iface, stack_ip],
                       capture_output=True, check=False)
        out = subprocess.run(["ip", "-j", "neigh", "show", stack_ip, "dev", iface],
                             capture_output=True, text=True, check=False).stdout
        return next((n["lladdr"] for n in json.loads(out or "[]") if n.get("lladdr")),
                    None)
    mac = wait_until(resolved, timeout)
    if mac is None:
        raise SystemExit(f"replay: {stack_ip} does not answer on {iface}: is the stack running?")
    return mac


def rewrite(frames, placeholder, mac):
    """Raw frame bytes with the placeholder destination MAC replaced."""
    ph = bytes.fromhex(placeholder.replace(":", ""))
    real = bytes.fromhex(mac.replace(":", ""))
    out = []
    for f in frames:
        b = bytes(f)
        out.append(real + b[6:] if b[:6] == ph else b)
    return out


def reply_key(p, proto):
    """(destination, flow) of a frame the stack sent if it is a `proto`
    answer, else None."""
    if proto == "arp_reply" and ARP in p and p[ARP].op == 2:
        return p[ARP].pdst, p[ARP].hwsrc
    if IP not in p:
        return None
    dst = p[IP].dst
    if proto == "icmp_echo_reply" and ICMP in p and p[ICMP].type == 0:
        return dst, (p[ICMP].id, p[ICMP].seq)
    if TCP in p:
        fl = int(p[TCP].flags)
        if proto == "tcp_synack" and fl & 0x12 == 0x12:
            return dst, p[TCP].dport
        if proto == "tcp_rst" and fl & 0x04:
            return dst, p[TCP].dport
    return None


def sum_stats(stats, key):
    return stats.get(key, 0)


class Run:
    """One pcap's replay: counters before, sniffed answers, checks."""

    def __init__(self, args, name, entry, mac):
        self.args, self.name, self.entry, self.mac = args, name, entry, mac
        self.sniffed = []

    def stats(self):
        return telemetry(self.args.prefix, "/mps/stats")

    def workers(self):
        return worker_slots(self.args.prefix)

    def loop_passed(self):
        """Every running worker past two more loop iterations: whatever it
        would answer to what it had received is on the wire. False on
        timeout."""
        return workers_settled(self.args.prefix, self.args.timeout)

    def replies(self, chk):
        """Distinct flows answered, and frames, for a replies check."""
        flows, frames = set(), 0
        for p in self.sniffed:
            k = reply_key(p, chk["proto"])
            if k is None or k[0] not in chk["to"]:
                continue
            if chk.get("from_stack_mac") and chk["proto"] == "arp_reply" and k[1] != self.mac:
                continue
            flows.add(k)
            frames += 1
        return len(flows), frames

    def evaluate(self, chk, final):
        """(expected, seen, ok) of one check."""
        kind = chk["check"]
        if kind == "replies":
            flows, frames = self.replies(chk)
            exp = f"{chk['count']} {chk['proto']}" + (" exactly" if chk.get("exact") else "")
            ok = flows >= chk["count"] and (not chk.get("exact") or frames == chk["count"])
            return exp, f"{flows} flows, {frames} frames", ok
        if kind == "spread":
            w0, w1 = self.w_before, self.workers()
            running = [k for k, v in w1.items() if v["state"] == "running"]
            deltas = {k: w1[k][chk["counter"]] - w0.get(k, {}).get(chk["counter"], 0)
                      for k in running}
            ok = len(running) < 2 or all(d >= chk["min_per_worker"] for d in deltas.values())
            return (f"{chk['counter']} >= {chk['min_per_worker']} on each worker",
                    " ".join(f"w{k}:+{d}" for k, d in sorted(deltas.items())), ok)
        if kind == "neigh":
            table = {e["ip"]: e["mac"].lower()
                     for e in telemetry(self.args.prefix, "/mps/neigh").values()}
            got = sum(1 for ip, mac in zip(chk["ips"], chk["macs"])
                      if table.get(ip) == mac)
            return f"{len(chk['ips'])} neighbours", f"{got} in /mps/neigh", got == len(chk["ips"])
        if kind == "drops":
            after = self.stats()
            bad = []
            parts = []
            for key, n in sorted(chk["counters"].items()):
                d = sum_stats(after, key) - sum_stats(self.s_before, key)
                parts.append(f"{key[8:]}:+{d}")
                if d < n:
                    bad.append(key)
            exp = " ".join(f"{k[8:]}:{n}" for k, n in sorted(chk["counters"].items()))
            return exp, " ".join(parts), not bad
        if kind == "no_replies":
            n = sum(1 for p in self.sniffed if Ether in p and p[Ether].dst in chk["to_macs"])
            return "no answer", f"{n} frames", n == 0 and final
        if kind == "alive":
            w = self.workers()
            running = sum(1 for v in w.values() if v["state"] == "running")
            pids = {k: v["pid"] for k, v in w.items()}
            before = sum(1 for v in self.w_before.values() if v["state"] == "running")
            same = all(pids[k] == v["pid"] for k, v in self.w_before.items()
                       if v["state"] == "running")
            return (f"{before} workers running, same pids",
                    f"{running} running" + ("" if same else ", pids changed"),
                    running == before and same)
        return "?", f"unknown check {kind}", False

    def all_ok(self, final=False):
        return all(self.evaluate(c, final)[2] for c in self.entry["expect"]
                   if c["check"] != "no_replies")

    def cleanup(self):
        """Resets the half-open connections the SYN pcaps left (RST with
        the sequence number the stack expects), so replays do not pile up."""
        rsts = []
        for p in self.sniffed:
            if TCP in p and int(p[TCP].flags) & 0x12 == 0x12 and IP in p:
                rsts.append(Ether(src=p[Ether].dst, dst=p[Ether].src) /
                            IP(src=p[IP].dst, dst=p[IP].src) /
                            TCP(sport=p[TCP].dport, dport=p[TCP].sport, flags="R",
                                seq=p[TCP].ack))
        if rsts:
            sendp(rsts, iface=self.args.iface, verbose=0)

    def run(self):
        frames = rewrite(rdpcap(str(PCAPS / self.name)),
                         self.args.manifest["stack_mac_placeholder"], self.mac)
        self.s_before, self.w_before = self.stats(), self.workers()
        try:
            # Ready only once its socket captures: a sniffer that never
            # starts would make every answer look missing.
            sn = Sniffer(None, f"ether src {self.mac}", self.args.iface, self.args.timeout)
        except AssertionError as e:
            raise SystemExit(f"replay: {e}")
        live = sn.seen
        rx0 = self.s_before["rx_pkts"]
        # Raw bytes: re-dissecting a malformed frame could rebuild it differently.
        sendp([Raw(f) for f in frames], iface=self.args.iface, verbose=0)
        # Every frame reached a worker (rx_pkts counts drops too) ...
        wait_until(lambda: self.stats()["rx_pkts"] - rx0 >= len(frames), self.args.timeout)
        # ... then the very answers and counters the manifest asks for (the
        # sniffer runs until they were seen or the wait timed out) ...
        self.sniffed = live
        wait_until(self.all_ok, self.args.timeout, interval=0.1)
        # ... and, for the checks that an answer must NOT come (no_replies,
        # an exact count), every worker past two more loop iterations (what it
        # would have answered is on the wire) plus a grace for the kernel to
        # hand such a frame to the sniffer.
        if any(c["check"] == "no_replies" or c.get("exact") for c in self.entry["expect"]):
            self.loop_passed()
            time.sleep(self.args.grace)
        sn.stop()
        self.sniffed = list(live)
        rows = []
        for c in self.entry["expect"]:
            exp, seen, ok = self.evaluate(c, True)
            rows.append(row(self.name, "check", c["check"], expected=exp, seen=seen,
                            verdict="pass" if ok else "FAIL",
                            difference="" if ok else f"expected {exp}, seen {seen}",
                            ok=bool(ok)))
        self.cleanup()
        return rows


# ---------------------------------------------------------------- conversations

def manifest_name(path, manifest):
    """The manifest entry's name for path, or None: a bare name of the
    manifest, or a path to that very file in pcaps/."""
    p = pathlib.Path(path)
    if p.name not in manifest["pcaps"]:
        return None
    if not p.exists() or p.resolve() == (PCAPS / p.name).resolve():
        return p.name
    return None


def port_map(specs):
    """{recorded port: stack port} from "8080:80[,8443:443]" options."""
    out = {}
    for spec in specs:
        for item in filter(None, spec.split(",")):
            a, _, b = item.partition(":")
            out[int(a)] = int(b)
    return out


def client_pool(args, cfg):
    """On-link addresses for the clients: --clients, or the stack's subnet
    from its 160th host up, less the stack's, the gateway's and the
    kernel's own addresses (the kernel would reset the stack's answers)."""
    net = ipaddress.IPv4Network(args.clients or f"{cfg['ip']}/{cfg['prefix_len']}",
                                strict=False)
    out = subprocess.run(["ip", "-j", "addr", "show", "dev", args.iface],
                         capture_output=True, text=True, check=False).stdout
    taken = {cfg["ip"], cfg.get("gateway")} | {
        a["local"] for i in json.loads(out or "[]") for a in i.get("addr_info", [])}
    hosts = [str(h) for h in net.hosts() if str(h) not in taken]
    if not args.clients and net.num_addresses > 200:  # clear of pcaps/'s hosts
        first = int(net.network_address) + 160
        hosts = sorted(hosts, key=lambda h: int(ipaddress.IPv4Address(h)) < first)
    if not hosts:
        raise SystemExit(f"replay: no client address left in {net}")
    return hosts


def plan(args, cfg, mac, files):
    """(Plays to run, rows already decided) for the capture files."""
    server = pcapconv.parse_server(args.server)
    pmap = port_map(args.port_map)
    listen = {int(x.split(":")[0]) for x in cfg.get("listen", "").split(",") if x}
    pool, mapped = client_pool(args, cfg), {}
    base = random.randrange(20000, 60000)
    plays, rows = [], []
    for path in files:
        try:
            convs, summary = pcapconv.load(path, server)
        except (OSError, pcapconv.CaptureError) as e:
            raise SystemExit(f"replay: {e}")
        name = pathlib.Path(path).name
        servers = {c.server[0] for c in convs if not c.skipped} | ({server[0]} if server else set())
        asks = pcapconv.exchanges_for(summary, servers)
        if not convs and not asks:
            why = "no TCP conversation" + (f" with {args.server}" if server else "")
            rows.append(row(name, "file", "-", verdict="nothing to replay",
                            difference=f"{why}: {summary.describe()}", ok=False,
                            compared=False))
            continue
        udp_left = summary.udp - sum(1 + len(x.answers) for x in asks if x.kind == "udp")
        if udp_left > 0 or summary.other:
            args.file_notes.append(
                f"{name}: {summary.describe()}; not replayed: " + ", ".join(
                    ([f"{udp_left} UDP datagrams (broadcast, multicast or not a client's to "
                      "a server, or answers of no request)"] if udp_left > 0 else []) +
                    ([f"{summary.other} frames of other protocols"] if summary.other else [])))
        for x in asks:
            cip = mapped.setdefault(x.client, pool[len(mapped) % len(pool)])
            if x.kind == "udp":
                a = tcpplay.UdpAsk(x, cip, base + len(plays), cfg["ip"], mac,
                                   pmap.get(x.seq, x.seq), args)
            else:
                a = tcpplay.Ask(x, cip, cfg["ip"], mac, args)
            a.file = name
            plays.append(a)
        for c in convs:
            if c.skipped:
                rows.append(row(name, "tcp", c.name, verdict="skipped", difference=c.skipped,
                                ok=True, compared=False, recorded=f"{c.client[0]}:{c.client[1]}"
                                f" > {c.server[0]}:{c.server[1]}"))
                continue
            cip = mapped.setdefault(c.client[0], pool[len(mapped) % len(pool)])
            port = pmap.get(c.server[1], c.server[1])
            p = tcpplay.Play(c, cip, base + len(plays), cfg["ip"], mac, port, args)
            p.file = name
            if port not in listen:
                p.notes.append(f"port {port} is not one of the stack's listeners "
                               f"({cfg.get('listen')}); --port-map?")
            plays.append(p)
    return plays, rows


def row(name, kind, conv, verdict, difference="", ok=True, compared=True, **fields):
    """A row of --json: every row has every field of the schema (README,
    "Replaying pcaps": the JSON rows), "" / [] / None where it does not
    apply."""
    r = {"file": name, "kind": kind, "conversation": conv, "client": "", "recorded": "",
         "port": "", "c2s": ["", ""], "s2c": ["", ""], "end": ["", ""], "expected": "",
         "seen": "", "verdict": verdict, "difference": difference, "notes": [],
         "seconds": None, "compared": compared, "pass": ok}
    assert set(fields) <= set(r), fields
    r.update(fields)
    return r


def nothing_compared(files, rows):
    """A failing row for each file that has rows but none that compared
    anything (every conversation skipped)."""
    out = []
    for f in files:
        mine = [r for r in rows if r["file"] == f]
        if mine and not any(r["compared"] or r["kind"] == "file" for r in mine):
            out.append(row(f, "file", "-", verdict="nothing compared", ok=False,
                           compared=False, difference=f"all {len(mine)} skipped: "
                           f"{mine[0]['difference']}"))
    return out


def replay_conversations(args, cfg, mac, files):
    plays, rows = plan(args, cfg, mac, files)
    if plays:
        try:
            link = tcpplay.Link(args.iface, mac)
        except OSError as e:
            raise SystemExit(f"replay: packet socket on {args.iface}: {e}")
        try:
            tcpplay.Replayer(link, cfg["ip"]).run(plays, args.parallel)
        finally:
            link.close()
        if link.drops:
            args.file_notes.append(f"the packet socket dropped {link.drops} frames "
                                   "(the stack retransmitted them)")
        for p in plays:
            if isinstance(p, tcpplay.Ask):
                v = p.verdict()
            elif isinstance(p, tcpplay.UdpAsk):
                v = p.verdict(args.compare)
            else:
                v = tcpplay.verdict(p, args.compare)
            conv, verdict, ok = v.pop("conversation"), v.pop("verdict"), v.pop("pass")
            rows.append(row(p.file, conv.partition("#")[0] or "tcp", conv, verdict, ok=ok, **v))
    names = [pathlib.Path(f).name for f in files]
    rows += nothing_compared(names, rows)
    order = {n: i for i, n in enumerate(names)}

    def key(r):  # file order, TCP conversations first, then ARP, ICMP, UDP, each by number
        kind, _, n = r["conversation"].partition("#")
        return order[r["file"]], kind, int(n or 0)
    rows.sort(key=key)
    return rows


def print_conversations(rows, notes):
    head = ("file", "conv", "client", "port", "c2s exp/seen", "s2c exp/seen",
            "end exp/seen", "verdict", "first difference")

    def cells(r):
        pair = lambda v: f"{v[0]}/{v[1]}" if v[0] != "" else ""  # noqa: E731
        return (r["file"], r["conversation"], r["client"], str(r["port"]),
                pair(r["c2s"]), pair(r["s2c"]), pair(r["end"]), r["verdict"],
                r["difference"])
    table = [head] + [cells(r) for r in rows]
    w = [max(len(t[i]) for t in table) for i in range(len(head) - 1)]
    for t in table:
        print("  ".join(c.ljust(w[i]) for i, c in enumerate(t[:-1])) + "  " + t[-1])
    for r in rows:
        for n in r["notes"]:
            print(f"  {r['file']} {r['conversation']}: {n}")
    for n in notes:
        print(f"  {n}")
    v = [r["verdict"] for r in rows]
    print(f"{sum(1 for r in rows if r['compared'])} compared: {v.count('match')} match, "
          f"{v.count('DIFFER')} differ; {v.count('skipped')} skipped (not compared, not "
          "failed)" + ("; NOTHING COMPARED" if not any(r["compared"] for r in rows) else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pcaps", nargs="*",
                    help="pcap/pcapng files, or names in pcaps/manifest.json (default: all of those)")
    ap.add_argument("--prefix", default="mpstack", help="the primary's --file-prefix")
    ap.add_argument("--iface", default="mps0", help="the tap, inside this namespace")
    ap.add_argument("--timeout", type=float, default=10.0,
                    help="seconds per wait (sniffer start, answers, counters); a "
                    "conversation with no progress for this long is over")
    ap.add_argument("--grace", type=float, default=0.3,
                    help="seconds the sniffer keeps watching for an answer that must not come")
    ap.add_argument("--json", action="store_true", help="rows as JSON")
    g = ap.add_argument_group("conversations (files not in the manifest)")
    g.add_argument("--server", metavar="ADDR[:PORT]",
                   help="the recorded server to play against the stack (default: whoever "
                   "answered each SYN); other conversations are left out")
    g.add_argument("--port-map", action="append", default=[], metavar="REC:STACK",
                   help="recorded server port REC is the stack's port STACK (8080:80; "
                   "comma list, repeatable)")
    g.add_argument("--compare", choices=("exact", "length", "status"), default="exact",
                   help="server bytes compared byte for byte, by length only, or (HTTP) "
                   "by the status code of each response")
    g.add_argument("--speed", type=float, default=1.0,
                   help="recorded pauses are divided by this (0: no pauses, only the "
                   "waits for the stack's answers)")
    g.add_argument("--parallel", type=int, default=1, metavar="N",
                   help="conversations in flight at once")
    g.add_argument("--clients", metavar="CIDR",
                   help="client addresses (default: the stack's subnet from host 160)")
    g.add_argument("--idle", type=float, default=1.0,
                   help="seconds of silence after which the stack counts as done answering")
    g.add_argument("--rto", type=float, default=0.25,
                   help="the replayed client's first retransmission timeout (s)")
    args = ap.parse_args()
    args.manifest = json.loads((PCAPS / "manifest.json").read_text())
    args.file_notes = []
    if args.parallel < 1:
        ap.error("--parallel must be at least 1")
    names = args.pcaps or list(args.manifest["pcaps"])
    checks = [n for n in (manifest_name(p, args.manifest) for p in names) if n]
    others = [p for p in names if manifest_name(p, args.manifest) is None]
    for p in others:
        if not pathlib.Path(p).is_file():
            ap.error(f"{p}: no such file (nor a name in pcaps/manifest.json)")
    conf.verb = 0
    try:
        cfg = telemetry(args.prefix, "/mps/config")
    except NoStack as e:
        sys.exit(f"replay: {e}")
    if others and cfg.get("vlan"):
        sys.exit(f"replay: the stack is on VLAN {cfg['vlan']}; conversations are replayed untagged")
    mac = stack_mac(cfg.get("ip", args.manifest["stack_ip"]), args.iface, args.timeout)
    rows = []
    for n in checks:
        rows += Run(args, n, args.manifest["pcaps"][n], mac).run()
    conv_rows = replay_conversations(args, cfg, mac, others) if others else []
    if args.json:
        print(json.dumps(rows + conv_rows, indent=1))
    else:
        if rows:
            print_checks(rows)
        if conv_rows:
            print_conversations(conv_rows, args.file_notes)
    sys.exit(0 if all(r["pass"] for r in rows + conv_rows) else 1)


def print_checks(rows):
    keys = ("file", "conversation", "expected", "seen")
    w = [max(len(r[k]) for r in rows + [dict(zip(keys, ("pcap", "check", "expected",
                                                            "seen")))]) for k in keys]
    fmt = f"%-{w[0]}s  %-{w[1]}s  %-{w[2]}s  %-{w[3]}s  %s"
    print(fmt % ("pcap", "check", "expected", "seen", "result"))
    for r in rows:
        print(fmt % (r["file"], r["conversation"], r["expected"], r["seen"], r["verdict"]))


if __name__ == "__main__":
    main()
