"""The malformed-frame corpus (pcaps/malformed.pcap) replayed
at full speed for MPS_FLOOD_SECONDS (default 60) from a raw packet socket on
the kernel side of the tap. Afterwards: the same worker pids, every drop
reason in the manifest counted in proportion to what was sent (the tap
drops what the workers cannot take; the ratio is printed), nothing sent
back, the mbuf pool back where it started, and echo + HTTP byte-exact."""
import http.client
import json
import os
import socket
import time

import pytest
from scapy.all import rdpcap

from mps import REPO, STACK_IP, TEST_NAME, Stack, echo_error, scaled, wait_until

IFACE = "mps0"
SECONDS = float(os.environ.get("MPS_FLOOD_SECONDS", "60"))
MANIFEST = json.loads((REPO / "pcaps" / "manifest.json").read_text())
ENTRY = MANIFEST["pcaps"]["malformed.pcap"]
EXPECT = next(e["counters"] for e in ENTRY["expect"] if e["check"] == "drops")
MIN_RATIO = 0.1   # of what was sent, per reason; the tap drops the rest
POOL_SLACK = 64   # mbufs a worker may legitimately hold when idle


@pytest.fixture(scope="module")
def mstack():
    s = Stack(TEST_NAME + "m", workers=2, primary_args="--listen 7:echo,80:http")
    with s.running():
        yield s


def stack_mac(stack):
    r = stack.exec("ping", "-c", "1", "-W", f"{scaled(5):g}", STACK_IP)
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(stack.exec("ip", "-j", "neigh", "show", STACK_IP, "dev", IFACE).stdout)
    return next(n["lladdr"] for n in out if n.get("lladdr"))


def corpus(mac):
    """The corpus as raw bytes, the placeholder destination made ours. A raw
    packet socket refuses a frame shorter than an Ethernet header, so the
    12-byte one goes as the stack sees it from scapy: zero-padded to 14."""
    ph = bytes.fromhex(MANIFEST["stack_mac_placeholder"].replace(":", ""))
    real = bytes.fromhex(mac.replace(":", ""))
    frames = [bytes(f) for f in rdpcap(str(REPO / "pcaps" / "malformed.pcap"))]
    assert len(frames) == ENTRY["frames"]
    return [(real + f[6:] if f[:6] == ph else f).ljust(14, b"\0") for f in frames]


def tap_counters(stack):
    link = json.loads(stack.exec("ip", "-j", "-s", "link", "show", IFACE).stdout)[0]
    return link["stats64"]["tx"]


def settle(probe, ok, timeout):
    """probe() until ok(value) or timeout s (scaled); the last value either
    way, for the assertions that follow to report."""
    box = [None]

    def pred():
        box[0] = probe()
        return ok(box[0])
    try:
        wait_until(pred, timeout, "")
    except AssertionError:
        pass
    return box[0]


def flood(stack, frames, seconds):
    """Sends the corpus in a tight loop; returns how many times it went."""
    with stack.netns():
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    try:
        s.bind((IFACE, 0))
        send = s.send
        loops = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for f in frames:
                send(f)
            loops += 1
        return loops
    finally:
        s.close()


def http_get(stack, path):
    with stack.netns():
        conn = http.client.HTTPConnection(STACK_IP, 80, timeout=20)
        conn.connect()
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_malformed_flood_at_full_speed(mstack, record_property):
    s = mstack
    frames = corpus(stack_mac(s))
    pids = {k: v["pid"] for k, v in s.workers_info().items()}
    st0, pool0, tap0 = s.stats(), s.telemetry("/mps/pool"), tap_counters(s)

    t0 = time.monotonic()
    loops = flood(s, frames, SECONDS)
    elapsed = time.monotonic() - t0
    sent = loops * len(frames)

    # The kernel has accounted every frame sent (passed to the tap's queues
    # or dropped there) ...
    tap1 = settle(lambda: tap_counters(s),
                  lambda t: t["packets"] - tap0["packets"] + t["dropped"] - tap0["dropped"]
                  >= sent, 30)
    queued = tap1["packets"] - tap0["packets"]
    # ... then the workers drain what the tap queued: every frame received
    # is counted under a drop reason (rx_pkts counts after the reasons).
    wait_until(lambda: s.stats()["rx_pkts"] - st0["rx_pkts"] >= queued,
               30, "the workers to take what the tap queued")
    st1 = settle(s.stats, lambda st: sum(st[k] - st0[k] for k in EXPECT)
                 == st["rx_pkts"] - st0["rx_pkts"], 30)
    grew = {k: st1[k] - st0[k] for k in EXPECT}
    ratio = {k: grew[k] / (loops * n) for k, n in EXPECT.items()}
    lines = [f"sent {sent} frames ({loops} x {len(frames)}) in {elapsed:.1f} s = "
             f"{sent / elapsed:.0f} frames/s; tap passed {queued}, dropped "
             f"{tap1['dropped'] - tap0['dropped']}; workers received "
             f"{st1['rx_pkts'] - st0['rx_pkts']}, sent {st1['tx_pkts'] - st0['tx_pkts']}"]
    lines += [f"  {k:22s} +{grew[k]:<9d} expected {loops * n:<9d} ratio {ratio[k]:.3f}"
              for k, n in EXPECT.items()]
    print("\n".join(lines))
    record_property("flood", "\n".join(lines))

    assert {k: v["pid"] for k, v in s.workers_info().items()} == pids
    assert all(v["state"] == "running" for v in s.workers_info().values())
    low = {k: r for k, r in ratio.items() if r < MIN_RATIO}
    assert not low, f"drop reasons counted for less than {MIN_RATIO} of what was sent: {low}"
    # Every frame the workers took was dropped under a reason; none answered.
    assert sum(grew.values()) == st1["rx_pkts"] - st0["rx_pkts"]
    # ... and every frame sent is accounted for: received or dropped by the tap.
    assert queued + tap1["dropped"] - tap0["dropped"] == sent
    assert st1["tx_pkts"] - st0["tx_pkts"] <= 2, "the stack answered malformed frames"

    # No mbuf leaked: the pool returns to its starting figure.
    pool = wait_until(lambda: (lambda p: p if p["in_use"] <= pool0["in_use"] + POOL_SLACK
                               else None)(s.telemetry("/mps/pool")), 30,
                      f"pool in_use back near {pool0['in_use']}")
    print(f"pool in_use {pool0['in_use']} before, {pool['in_use']} after; "
          f"rx_nombuf {pool['rx_nombuf'] - pool0['rx_nombuf']}")

    # Still serving, byte-exact.
    assert echo_error(s, os.urandom(256 * 1024), 20) is None
    assert http_get(s, "/") == (200, b"Hello from mpstack\n")
    assert http_get(s, "/bytes/100000") == (200, b"x" * 100000)
