"""dpdk-proc-info (--stats, --xstats, --show-mempool, --show-ring, --metrics)
against the running primary, and the /mps/* telemetry commands, after
traffic that reached both workers."""
import json
import re
import subprocess

import pytest

from mps import REPO, echo_once, scaled, wait_until, worker_slots

WORKER_METRICS = ["rx_pkts", "tx_pkts", "rx_bytes", "tx_bytes", "rx_drop",
                  "tcp_accepted", "tcp_active", "tcp_closed", "tcp_reset",
                  "neigh_learned", "neigh_hit", "neigh_miss", "ring_tx",
                  "tx_retries", "busy_cycles", "idle_cycles"]
STATS_KEYS = ["workers", "workers_running", "rx_pkts", "tx_pkts", "rx_bytes",
              "tx_bytes", "rx_drop_malformed", "rx_drop_unsupported",
              "rx_drop_truncated", "rx_drop_bad_csum", "rx_drop_vlan",
              "tcp_accepted", "tcp_active", "tcp_closed", "tcp_reset",
              "neigh_learned", "neigh_hit", "neigh_miss", "ring_tx", "tx_retries",
              "busy_cycles", "idle_cycles", "capture_pkts", "capture_drop"]


@pytest.fixture(scope="module")
def busy(stack):
    """Traffic on both workers: 64 SYNs (spread by the tap) and an echo."""
    r = subprocess.run(["ip", "netns", "exec", stack.ns, "/usr/bin/python3",
                        str(REPO / "scripts" / "replay.py"), "--prefix", stack.prefix,
                        "--timeout", f"{scaled(20):g}", "syn_64_flows.pcap"],
                       capture_output=True, text=True, timeout=scaled(120))
    assert r.returncode == 0, r.stdout + r.stderr
    assert echo_once(stack, b"x" * 1000)
    return stack


def proc_info(stack, *opts):
    # dpdk-proc-info passes its own -c (lcore 0); it only reads shared state.
    r = subprocess.run(["dpdk-proc-info", "--file-prefix", stack.prefix, "--no-pci",
                        "--log-level=lib.eal:error", "--", *opts],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def values(text):
    return {m[0]: int(m[1]) for m in re.findall(r"^\s*(\w+): (\d+)\s*$", text, re.M)}


def test_proc_info_stats(busy):
    # net_tap counts a frame after writing it to the tap: wait for the
    # counters themselves, not for the answers the fixture saw.
    def counted():
        out = proc_info(busy, "--stats")
        assert "NIC statistics for port 0" in out
        rx = re.search(r"RX-packets:\s+(\d+)", out)
        tx = re.search(r"TX-packets:\s+(\d+)", out)
        return out if rx and tx and int(rx[1]) > 0 and int(tx[1]) > 0 else None
    out = wait_until(counted, 10, "non-zero RX-packets and TX-packets for port 0")
    assert int(re.search(r"RX-packets:\s+(\d+)", out)[1]) > 0
    assert int(re.search(r"TX-packets:\s+(\d+)", out)[1]) > 0


def test_proc_info_xstats(busy):
    keys = ("rx_good_packets", "tx_good_packets", "rx_q0_packets", "rx_q1_packets")
    v = wait_until(lambda: (lambda v: v if all(v.get(k, 0) > 0 for k in keys) else None)(
        values(proc_info(busy, "--xstats"))), 10, f"non-zero {', '.join(keys)}")
    assert v["rx_good_packets"] > 0 and v["tx_good_packets"] > 0
    assert v["rx_q0_packets"] > 0 and v["rx_q1_packets"] > 0


def test_proc_info_mempool_and_rings(busy):
    assert "mempool <mps_mbuf_pool>" in proc_info(busy, "--show-mempool")
    rings = proc_info(busy, "--show-ring")
    for w in range(busy.workers):
        assert f"ring <mps_ring_{w}>" in rings


def test_proc_info_metrics(busy):
    """Our counters by name, totals and per worker, non-zero after traffic
    (published once a second: wait for the publish)."""
    # One publish holds every counter asserted non-zero below: wait for it.
    nonzero = [f"mps_{n}" for n in ("rx_pkts", "tx_pkts", "rx_bytes", "tx_bytes",
                                    "busy_cycles", "idle_cycles", "neigh_hit")]
    nonzero += [f"mps_w{w}_{n}" for w in range(busy.workers)
                for n in ("rx_pkts", "tx_pkts", "busy_cycles")]

    def global_metrics():
        out = proc_info(busy, "--metrics")
        v = values(out.split("Non port specific metrics")[1])
        return v if all(v.get(k, 0) > 0 for k in nonzero) else None
    v = wait_until(global_metrics, 15, f"non-zero {', '.join(nonzero)}", interval=0.5)
    for name in ("rx_pkts", "tx_pkts", "rx_bytes", "tx_bytes", "busy_cycles",
                 "idle_cycles", "neigh_hit"):
        assert v[f"mps_{name}"] > 0, name
    for name in ("rx_drop_malformed", "rx_drop_bad_csum", "tcp_accepted",
                 "tcp_reset", "neigh_learned", "neigh_miss", "ring_tx", "tx_retries"):
        assert f"mps_{name}" in v
    for w in range(busy.workers):
        for name in WORKER_METRICS:
            assert f"mps_w{w}_{name}" in v
        assert v[f"mps_w{w}_tx_pkts"] > 0 and v[f"mps_w{w}_busy_cycles"] > 0


def test_telemetry_commands_documented_keys(busy):
    workers = wait_until(lambda: (lambda ws: ws if ws and all(
        w.get("rx_pkts", 0) > 0 for w in ws.values()) else None)(
        worker_slots(busy.prefix)), 10, "rx_pkts > 0 on every worker")
    assert sorted(workers) == [str(w) for w in range(busy.workers)]
    for wid, w in workers.items():
        # /mps/workers: the slot and the compact counters (README) ...
        for k in ("pid", "state", "lcore", "heartbeat_age_ms", "rx_pkts", "tx_pkts",
                  "tcp_accepted", "tcp_active", "rx_drop", "neigh_learned", "ring_tx",
                  "busy_cycles", "idle_cycles"):
            assert k in w, k
        assert w["rx_pkts"] > 0
        # ... /mps/worker,ID: the slot and every counter.
        one = busy.telemetry("/mps/worker", wid)
        for k in ("pid", "state", "lcore", "heartbeat_age_ms", "rx_pkts", "tx_pkts",
                  "tcp_accepted", "tcp_active", "rx_drop_malformed", "rx_drop_truncated",
                  "neigh_learned", "ring_tx", "busy_cycles", "idle_cycles",
                  "capture_pkts", "capture_drop"):
            assert k in one, k
        assert one["pid"] == w["pid"]
    stats = busy.telemetry("/mps/stats")
    for k in STATS_KEYS:
        assert k in stats, k
    assert stats["rx_pkts"] >= sum(w["rx_pkts"] for w in workers.values())
    assert stats["workers_running"] == busy.workers
    cfg = busy.telemetry("/mps/config")
    for k in ("ip", "prefix_len", "gateway", "mtu", "listen", "workers", "ports"):
        assert k in cfg, k
    neigh = wait_until(lambda: (lambda n: n if n and "198.18.0.14" in {
        e.get("ip") for e in n.values()} else None)(busy.telemetry("/mps/neigh")),
        10, "the SYN pcap's host 198.18.0.14 in /mps/neigh")
    assert neigh, "the SYN pcap's host was learned"
    for e in neigh.values():
        assert set(e) == {"ip", "mac", "age_s", "learned_by", "static"}
    assert "198.18.0.14" in {e["ip"] for e in neigh.values()}
    json.dumps([workers, stats, cfg, neigh])


STATS_LINE = re.compile(r"^w(\d+) (\w+) +pid (\d+) rx ([\d.]+)/s ([\d.]+)Mb/s tx ([\d.]+)/s "
                        r"([\d.]+)Mb/s drop (\d+) tcp (\d+)/(\d+)/(\d+) neigh (\d+) "
                        r"ring (\d+) busy (\d+)%$", re.M)


def test_primary_stats_line():
    """mps-primary --stats 1 prints one compact line per worker with rates."""
    from mps import STACK_IP, TEST_NAME, Stack
    s = Stack(f"{TEST_NAME}st", workers=1, primary_args="--stats 1")
    s.stop()
    s.start()
    try:
        def line_with_rx():
            r = s.exec("ping", "-c", "1", "-W", f"{scaled(1):g}", STACK_IP)
            assert r.returncode == 0, r.stdout
            for m in STATS_LINE.finditer(s.log("primary")):
                if m[1] == "0" and m[2] == "running" and float(m[4]) > 0:
                    return m
            return None
        m = wait_until(line_with_rx, 20, "a stats line with RX", interval=0.3)
        assert int(m[3]) == s.pid("worker-0")
        assert 0 <= int(m[14]) <= 100
    finally:
        s.stop()
