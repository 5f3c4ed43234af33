"""Every pcap in pcaps/ replayed into the stack with scripts/replay.py
(scapy sendp + AsyncSniffer in the namespace) meets its manifest entry;
the malformed corpus leaves the stack serving."""
import json
import subprocess

import pytest

from mps import REPO, STACK_IP, echo_once, scaled

MANIFEST = json.loads((REPO / "pcaps" / "manifest.json").read_text())


def replay(stack, *pcaps):
    # replay.py waits (sniffer start, answers, counters) up to --timeout and
    # watches --grace s for an answer that must not come: this run's scale.
    r = subprocess.run(["ip", "netns", "exec", stack.ns, "/usr/bin/python3",
                        str(REPO / "scripts" / "replay.py"), "--prefix", stack.prefix,
                        "--json", "--timeout", f"{scaled(20):g}",
                        "--grace", f"{scaled(0.3):g}", *pcaps],
                       capture_output=True, text=True, timeout=scaled(120))
    assert r.stdout, r.stderr
    return r.returncode, json.loads(r.stdout)


@pytest.mark.parametrize("pcap", sorted(MANIFEST["pcaps"]))
def test_pcap_meets_manifest(stack, pcap):
    rc, rows = replay(stack, pcap)
    assert len(rows) == len(MANIFEST["pcaps"][pcap]["expect"])
    failed = [r for r in rows if not r["pass"]]
    assert rc == 0 and not failed, failed


def test_malformed_corpus_covers_every_case():
    """One frame per case, the case names unique, every drop reason used."""
    entry = MANIFEST["pcaps"]["malformed.pcap"]
    names = [c["name"] for c in entry["cases"]]
    assert len(names) == entry["frames"] == len(set(names))
    reasons = {c["reason"] for c in entry["cases"]}
    assert reasons == {"truncated", "bad_ip_hdr", "bad_csum", "bad_tcp", "bad_arp",
                       "ip_options", "fragment", "vlan", "ethertype"}


def test_service_continues_after_malformed(stack):
    before = {k: v["pid"] for k, v in stack.workers_info().items()}
    rc, rows = replay(stack, "malformed.pcap")
    assert rc == 0, rows
    r = stack.exec("ping", "-c", "2", "-i", "0.2", "-W", f"{scaled(2):g}", STACK_IP)
    assert r.returncode == 0, r.stdout
    assert echo_once(stack, b"still here")
    assert {k: v["pid"] for k, v in stack.workers_info().items()} == before
