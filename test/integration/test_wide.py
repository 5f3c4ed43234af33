"""Many workers: a primary with 34 worker slots (past 32, under the ceiling
MPS_MAX_WORKERS, 63) on net_null, whose queue pairs need no NIC and no peer
(no-rx=1: its queues stay empty, so the idle workers back off and share
the 2 CPUs). Every worker runs on its own EAL lcore (ID+1); /mps/workers
pages list them all under telemetry's 16 KiB; mps-capture selects workers
31 and 32 (bits past a 32-bit mask) and refuses a worker the primary does
not have; worker 20 is replaced on its successor lcore (ID+1+MAX); worker
33's queue is adopted when it stops."""
import json
import os
import re
import signal
import socket
import subprocess

import pytest

from mps import (BUILD, REPO, TEST_NAME, stop_in_order, telemetry, wait_until,
                 worker_slots)

MAX_WORKERS = int(re.search(r"#define MPS_MAX_WORKERS\s+(\d+)u",
                            (REPO / "common" / "mps_config.h").read_text()).group(1))
N = 34  # past 32 (a 32-bit mask's last bit), within MPS_MAX_WORKERS (63)
WAVE = 8     # workers started at once
REPLY_MAX = 16 * 1024   # DPDK 22.11 telemetry's output buffer
PREFIX = TEST_NAME + "wide"


def eal(lcore):
    return ["--file-prefix", PREFIX, "--no-pci", "--no-telemetry",
            "--lcores", f"{lcore}@{lcore % os.cpu_count()}", "--log-level=lib.eal:error"]


class Wide:
    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = {}      # worker id -> Popen (the current process)
        self.others = []     # replaced workers, captures: waited for at the end
        self.primary = None
        self.respawned = set()
        self.spawned_as = {}  # worker id -> the number in its last log's name

    def spawn(self, wid, *args, lcore=None):
        self.spawned = getattr(self, "spawned", 0) + 1
        self.spawned_as[wid] = self.spawned
        log = open(self.tmp / f"worker-{wid}-{self.spawned}.log", "w")
        p = subprocess.Popen([str(BUILD / "mps-secondary"),
                              *eal(wid + 1 if lcore is None else lcore), "--",
                              "--worker", str(wid), *args],
                             stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return p

    def running_or_respawned(self, wid, state):
        """Worker wid runs; if its EAL start failed in DPDK's memory set-up
        (now and then one of dozens of secondaries attaching one after the
        other does: "Cannot initialize local memory map"), it is started
        again, once."""
        if state == "running":
            return True
        p = self.procs[wid]
        if p.poll() is not None and wid not in self.respawned:
            log = self.tmp / f"worker-{wid}-{self.spawned_as[wid]}.log"
            assert "Cannot init memory" in log.read_text(), log.read_text()
            print(f"worker {wid}: EAL start failed in its memory set-up; started again")
            self.respawned.add(wid)
            self.procs[wid] = self.spawn(wid)
        return False

    def slot(self, wid):
        return telemetry(PREFIX, "/mps/worker", str(wid))

    def stop(self):
        """Workers first, all at once, with one deadline (a secondary whose
        primary is gone can hang in EAL's clean-up), then the primary."""
        stop_in_order([list(self.procs.values()) + self.others, [self.primary]])


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    w = Wide(tmp_path_factory.mktemp("wide"))
    try:
        w.primary = subprocess.Popen(
            [str(BUILD / "mps-primary"), "--file-prefix", PREFIX, "--no-pci",
             "--lcores", "0@0", "--vdev", "net_null0,no-rx=1",
             "--log-level=lib.eal:warning", "--",
             "--workers", str(N), "--mbufs", "65535"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line, out = w.primary.stdout.readline(), []
        while line and "ready" not in line:
            out.append(line)
            line = w.primary.stdout.readline()
        assert line, "primary did not start:\n" + "".join(out)
        # In waves: a secondary's EAL start asks the primary for memory over
        # EAL IPC, and 34 at once on a loaded 2-CPU machine time out there.
        for first in range(0, N, WAVE):
            wave = range(first, min(N, first + WAVE))
            for wid in wave:
                w.procs[wid] = w.spawn(wid)
            wait_until(lambda: all(w.running_or_respawned(int(k), v["state"])
                                   for k, v in worker_slots(PREFIX).items()
                                   if int(k) in wave), 40,
                       f"workers {first}..{wave[-1]} running")
        yield w
    finally:
        w.stop()


def states(slots):
    return {int(k): v["state"] for k, v in slots.items()}


def test_every_worker_runs_and_telemetry_lists_them(wide):
    wait_until(lambda: states(worker_slots(PREFIX)) == {w: "running" for w in range(N)},
               40, f"all {N} workers running")
    # Each page of /mps/workers is a reply under 16 KiB; together: all.
    pages, first = [], 0
    while True:
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
            s.settimeout(5)
            s.connect(f"/var/run/dpdk/{PREFIX}/dpdk_telemetry.v2")
            s.recv(4096)
            s.send(f"/mps/workers,{first}".encode())
            raw = s.recv(1 << 20)
        assert len(raw) < REPLY_MAX
        page = json.loads(raw)["/mps/workers"]
        if not page:
            break
        pages.append(page)
        first += len(page)
    assert first == N and len(pages) == -(-N // 16)
    lcores = {int(k): v["lcore"] for p in pages for k, v in p.items()}
    assert lcores == {w: w + 1 for w in range(N)}
    assert telemetry(PREFIX, "/mps/stats")["workers_running"] == N


def test_capture_selects_workers_past_31(wide, tmp_path):
    wait_until(lambda: wide.slot(32)["state"] == "running", 40, "worker 32 running")
    out = tmp_path / "w.pcapng"
    cap = [str(BUILD / "mps-capture"), "--file-prefix", PREFIX, "--no-pci",
           "--log-level=lib.eal:error", "--"]
    r = subprocess.run(cap + ["-w", str(out), "--worker", "31", "--worker", "32",
                              "-a", "1"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    # bits 31 and 32: the set the capture published in the memzone
    assert "capturing workers 0x180000000 " in r.stdout, r.stdout
    assert out.stat().st_size > 0
    r = subprocess.run(cap + ["-w", str(out), "--worker", str(N)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and f"--worker {N} out of range (the primary has {N}" in r.stderr, \
        r.stderr
    r = subprocess.run(cap + ["-w", str(out), "--worker", str(MAX_WORKERS)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "invalid option" in r.stderr, r.stderr


def test_replace_worker_20_on_its_successor_lcore(wide):
    k = 20
    wait_until(lambda: wide.slot(k)["state"] == "running", 40, f"worker {k} running")
    old = wide.procs[k]
    new = wide.spawn(k, "--replace", "--drain-timeout", "1", lcore=k + 1 + MAX_WORKERS)
    wide.others.append(old)
    wide.procs[k] = new
    wait_until(lambda: (lambda s: s["pid"] == new.pid and s["state"] == "running")(
        wide.slot(k)), 30, f"the successor serving worker {k}")
    assert wide.slot(k)["lcore"] == k + 1 + MAX_WORKERS
    wait_until(lambda: old.poll() is not None, 30, "the replaced worker exited")
    assert old.returncode == 0


def test_queue_of_worker_33_adopted(wide):
    k = N - 1
    wait_until(lambda: wide.slot(k)["state"] == "running", 40, f"worker {k} running")
    p = wide.procs.pop(k)
    p.send_signal(signal.SIGINT)
    assert p.wait(30) == 0
    s = wait_until(lambda: (lambda s: s if s["state"] == "free" and s["adopter"] >= 0 and
                            s["adopted_by"] == s["adopter"] else None)(wide.slot(k)),
                   20, f"queue {k} adopted by a running worker")
    adopter = wide.slot(s["adopter"])
    assert adopter["state"] == "running" and str(k) in adopter["adopts"].split(",")
    # back: the worker takes its queue again
    wide.procs[k] = wide.spawn(k)
    wait_until(lambda: (lambda s: s["state"] == "running" and s["adopted_by"] == -1)(
        wide.slot(k)), 30, f"worker {k} serving its queue again")
