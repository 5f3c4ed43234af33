#!/usr/bin/python3
"""Replays pcaps into a running mpstack and checks the answers against
pcaps/manifest.json. Run it inside the stack's network namespace (make
replay does):

    ip netns exec mpstack scripts/replay.py --prefix mpstack [PCAP ...]

Each pcap's frames addressed to the manifest's placeholder MAC are rewritten
to the stack's MAC (learned from the kernel after one ping), sent with
scapy's sendp on the tap, and what the stack sends back is captured with
mps.Sniffer. Counters come from the primary's telemetry socket. Prints a
table (pcap, check, expected, seen, result); exits 1 if any check failed.
--json prints the same rows as JSON.
"""
import argparse
import json
import logging
import pathlib
import subprocess
import sys
import time

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

from scapy.all import conf, rdpcap, sendp  # noqa: E402
from scapy.layers.inet import ICMP, IP, TCP  # noqa: E402
from scapy.layers.l2 import ARP, Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

from mps import NoStack, Sniffer, telemetry, workers_settled  # noqa: E402

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
        return telemetry(self.args.prefix, "/mps/workers")

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
            rows.append({"pcap": self.name, "check": c["check"], "expected": exp,
                         "seen": seen, "pass": bool(ok)})
        self.cleanup()
        return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pcaps", nargs="*", help="pcap names in pcaps/ (default: all)")
    ap.add_argument("--prefix", default="mpstack", help="the primary's --file-prefix")
    ap.add_argument("--iface", default="mps0", help="the tap, inside this namespace")
    ap.add_argument("--timeout", type=float, default=10.0,
                    help="seconds per wait (sniffer start, answers, counters)")
    ap.add_argument("--grace", type=float, default=0.3,
                    help="seconds the sniffer keeps watching for an answer that must not come")
    ap.add_argument("--json", action="store_true", help="rows as JSON")
    args = ap.parse_args()
    args.manifest = json.loads((PCAPS / "manifest.json").read_text())
    names = [pathlib.Path(p).name for p in args.pcaps] or list(args.manifest["pcaps"])
    for n in names:
        if n not in args.manifest["pcaps"]:
            ap.error(f"{n} is not in pcaps/manifest.json")
    conf.verb = 0
    try:
        telemetry(args.prefix, "/mps/config")
    except NoStack as e:
        sys.exit(f"replay: {e}")
    mac = stack_mac(args.manifest["stack_ip"], args.iface, args.timeout)
    rows = []
    for n in names:
        rows += Run(args, n, args.manifest["pcaps"][n], mac).run()
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        w = [max(len(r[k]) for r in rows + [{"pcap": "pcap", "check": "check",
                                             "expected": "expected", "seen": "seen"}])
             for k in ("pcap", "check", "expected", "seen")]
        fmt = f"%-{w[0]}s  %-{w[1]}s  %-{w[2]}s  %-{w[3]}s  %s"
        print(fmt % ("pcap", "check", "expected", "seen", "result"))
        for r in rows:
            print(fmt % (r["pcap"], r["check"], r["expected"], r["seen"],
                         "pass" if r["pass"] else "FAIL"))
    sys.exit(0 if all(r["pass"] for r in rows) else 1)


if __name__ == "__main__":
    main()
