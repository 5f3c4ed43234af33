#!/usr/bin/python3
"""soak.py - connection churn against a fresh mpstack (primary + 2 workers in
their own netns) for --minutes: every connection opens, echoes 1 KiB and
closes, at a steady --rate per second. Every --interval seconds it prints
pool in-use, lwIP PCBs in use per worker and the RSS of every process.
Verdict (exit 0/1): no client error, and none of those figures drifts:
pool in-use and PCBs within a small margin of the first sample, RSS within
10% + 4 MiB, and the pool back to its starting figure once the churn stops.

  soak.py [--minutes 30] [--rate 100] [--interval 60] [--name mpssoak]
"""
import argparse
import os
import pathlib
import signal
import sys
import threading
import time

from mps import STACK_IP, Stack, netns, wait_until  # noqa: E402

import socket  # noqa: E402

POOL_MARGIN = 256   # mbufs: per-lcore caches and in-flight frames move
PCB_MARGIN = 64


def rss_kib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Churn:
    """Threads that together open rate connections per second."""

    def __init__(self, ns, rate, threads=4):
        self.ns, self.stop = ns, threading.Event()
        self.period = threads / rate
        self.done = self.errors = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _one(self):
        payload = os.urandom(1024)
        with netns(self.ns):
            s = socket.create_connection((STACK_IP, 7), timeout=10)
        try:
            s.sendall(payload)
            got = b""
            while len(got) < len(payload):
                chunk = s.recv(4096)
                if not chunk:
                    raise ConnectionError("closed early")
                got += chunk
            if got != payload:
                raise ValueError("echo mismatch")
        finally:
            s.close()

    def _run(self):
        nxt = time.monotonic()
        while not self.stop.is_set():
            try:
                self._one()
                with self.lock:
                    self.done += 1
            except Exception as e:  # noqa: BLE001 - every failure counts
                with self.lock:
                    self.errors += 1
                print(f"soak: client error: {e!r}", flush=True)
            nxt += self.period
            delay = nxt - time.monotonic()
            if delay > 0:
                self.stop.wait(delay)
            else:
                nxt = time.monotonic()  # behind: do not burst to catch up

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(15)


def sample(stack, names):
    pool = stack.telemetry("/mps/pool")
    info = stack.workers_info()
    return {
        "in_use": pool["in_use"],
        "pcbs": [info[w]["tcp_pcbs"] for w in sorted(info)],
        "rss": {n: rss_kib(stack.pid(n)) for n in names},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--interval", type=float, default=60)
    ap.add_argument("--name", default=os.environ.get("MPS_SOAK_NAME", "mpssoak"))
    a = ap.parse_args()
    # SIGTERM stops it as Ctrl-C does: through the finally block below.
    signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(128 + sig))

    stack = Stack(a.name, workers=2, primary_args="--listen 7:echo,80:http")
    stack.stop()
    stack.start()
    names = ["primary", "worker-0", "worker-1"]
    failures = []
    try:
        base_in_use = stack.telemetry("/mps/pool")["in_use"]
        churn = Churn(stack.ns, a.rate)
        churn.start()
        t0 = time.monotonic()
        end = t0 + a.minutes * 60
        samples = []
        print(f"soak: {a.minutes:g} min at {a.rate:g} conn/s, figures every {a.interval:g} s; "
              f"pool in-use at start {base_in_use}", flush=True)
        while time.monotonic() < end:
            time.sleep(max(0.0, min(a.interval, end - time.monotonic())))
            s = sample(stack, names)
            samples.append(s)
            print(f"soak: t={time.monotonic() - t0:6.0f}s conns {churn.done} errors "
                  f"{churn.errors} pool in-use {s['in_use']} pcbs {s['pcbs']} rss KiB "
                  + " ".join(f"{n}={v}" for n, v in s["rss"].items()), flush=True)
        churn.finish()
        first = samples[0]
        for s in samples[1:]:
            if s["in_use"] > first["in_use"] + POOL_MARGIN:
                failures.append(f"pool in-use drifted {first['in_use']} -> {s['in_use']}")
            if any(p > f + PCB_MARGIN for p, f in zip(s["pcbs"], first["pcbs"])):
                failures.append(f"PCBs drifted {first['pcbs']} -> {s['pcbs']}")
            for n in names:
                if s["rss"][n] > first["rss"][n] * 1.10 + 4096:
                    failures.append(f"{n} RSS drifted {first['rss'][n]} -> {s['rss'][n]} KiB")
        last = []

        def settled():
            last.append(stack.telemetry("/mps/pool")["in_use"])
            return len(last) > 3 and last[-1] == last[-2] == last[-3]
        wait_until(settled, 30, "the pool to settle", interval=0.2)
        print(f"soak: after the churn pool in-use {last[-1]} (start {base_in_use}); "
              f"{churn.done} connections, {churn.errors} errors", flush=True)
        if last[-1] > base_in_use + 16:
            failures.append(f"pool did not come back: {base_in_use} -> {last[-1]}")
        if churn.errors:
            failures.append(f"{churn.errors} client errors")
        if churn.done < a.rate * a.minutes * 60 * 0.8:
            failures.append(f"only {churn.done} connections (rate not held)")
    finally:
        stack.stop()
    if failures:
        print("soak: FAIL: " + "; ".join(dict.fromkeys(failures)))
        return 1
    print("soak: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
