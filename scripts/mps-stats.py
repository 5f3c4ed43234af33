#!/usr/bin/python3
"""mps-stats.py [--prefix P] [--json] [--watch SECONDS]

Prints one line per worker from the primary's telemetry (/mps/workers),
the same data `dpdk-telemetry.py -f P` shows, as a table."""
import argparse
import json
import sys
import time

from mps import NoStack, workers

COLS = [("worker", None), ("pid", "pid"), ("state", "state"),
        ("rx_pkts", "rx_pkts"), ("tx_pkts", "tx_pkts"),
        ("accepted", "tcp_accepted"), ("active", "tcp_active"),
        ("http", "http_requests"), ("drops", None), ("neigh+", "neigh_learned"),
        ("busy%", None)]
DROPS = ("rx_drop_malformed", "rx_drop_multiseg", "rx_drop_lwip",
         "tx_drop_full", "tx_drop_nombuf", "tx_drop_toolong", "ring_drop")


def table(workers):
    rows = []
    for wid, w in sorted(workers.items(), key=lambda kv: int(kv[0])):
        it = w["iterations"] or 1
        row = []
        for name, key in COLS:
            if name == "worker":
                row.append(wid)
            elif name == "drops":
                row.append(str(sum(w[k] for k in DROPS)))
            elif name == "busy%":
                row.append(f"{100.0 * w['busy_iterations'] / it:.1f}")
            else:
                row.append(str(w[key]))
        rows.append(row)
    head = [n for n, _ in COLS]
    width = [max(len(x) for x in col) for col in zip(head, *rows)]
    fmt = "  ".join(f"{{:>{n}}}" for n in width)
    return "\n".join(fmt.format(*r) for r in [head] + rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    ap.add_argument("--prefix", default="mpstack", help="the primary's --file-prefix")
    ap.add_argument("--json", action="store_true", help="every worker's counters as JSON")
    ap.add_argument("--watch", type=float, default=0, help="repeat every SECONDS")
    a = ap.parse_args()
    while True:
        try:
            w = workers(a.prefix)
        except NoStack as e:
            sys.exit(f"mps-stats: {e}")
        print(json.dumps(w, indent=1) if a.json else table(w), flush=True)
        if not a.watch:
            return
        time.sleep(a.watch)
        print()


if __name__ == "__main__":
    main()
