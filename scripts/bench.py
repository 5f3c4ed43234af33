#!/usr/bin/python3
"""bench.py - mpstack side by side with the Linux kernel stack.

Topology (all inside namespaces this script makes and deletes):
  netns mpsbench   : the client side. Kernel end of mpstack's tap (198.18.0.1)
                     and one end of a veth pair (198.18.1.1).
  netns mpsbenchk  : the kernel-stack server on the veth's far end
                     (198.18.1.2): nginx-light (one instance per worker
                     count, port 8000+N, N worker processes), an epoll
                     echo, iperf -s.
mpstack (198.18.0.2) runs with 1 and then 2 workers; its ratio is against
nginx with as many worker processes. The same wrk, ping-pong client and
iperf client run in netns mpsbench against both servers.

Every point is measured once per pass, in BENCH_RUNS passes (default 3)
over the whole bench; tables show the median and the range [min-max] of
req/s over the passes (latencies and cycles: median).

The stack's own ceiling, without the kernel: mpstack (server, echo) and a
second mpstack acting as load generator (`--connect ADDR:7:load*N`: closed-loop
64-byte request/response on N connections per worker) joined by net_memif.
memif has no RSS: generator worker w sends on queue w, which is the server's
queue w, so flows are spread over the server's queues by the generator's
workers (each owns its connections), as a NIC's RSS would.

Both ends on one stack: that memif run with 1 worker each side against the
kernel with both ends too (test/bench/epoll_load, the same closed loop of
64-byte requests on as many connections, to test/bench/epoll_echo over the
veth). Besides req/s, the server's CPU time per request from
/proc/PID/task/*/schedstat (time on a CPU, so preemption on a shared
machine is not counted as work, unlike TSC busy cycles).

Bulk transfer: mpstack to mpstack over net_memif (the generator's
`--connect ADDR:9:bulk*N` streams as fast as the window allows into the
other side's discard app) against the kernel at both ends (iperf 2 over a
veth pair between two namespaces of its own, mpsbenchb and mpsbenchbk), at
MTU 1500 and 9000 (memif's `bsize` devarg is raised to hold a whole frame:
a frame larger than one memif buffer arrives chained, and the stack drops
chained frames). TCP payload Gbit/s (received bytes less 54 bytes of
headers per frame, from the receiver's telemetry), per worker, and busy
TSC cycles per payload byte of the mpstack sender and receiver.

Prints one table per section (with the machine and the settings) and
writes build/bench.json (every run's figures, and the medians).
Environment: BENCH_RUNS (runs per point, default 3), BENCH_DURATION (s per
wrk point, default 5), BENCH_CONNS
("1,8,64,256"), BENCH_WORKERS ("1,2"), BENCH_IDLE ("backoff,spin"),
BENCH_PINGS (round trips back to back, default 20000; then 500 paced 10 ms
apart), BENCH_MEMIF_CONNS (generator
connections per worker, default 32), BENCH_SECTIONS
("kernel,memif,replace,exception,forged,wide,cycles,bulk": the tap/kernel
comparison, the DPDK-to-DPDK run, a rolling replace of both workers under
wrk: requests/s per second before and during the roll, hand-over and drain
times; what a flood of frames for other addresses costs the HTTP service
with the kernel exception path off and on; what a TCP segment of no
connection costs a worker holding many connections; many workers per side over
memif; where the cycles go; and bulk transfer), BENCH_FLOOD (frames,
default 100000), BENCH_FLOOD_PPS (their rate, default BENCH_FLOOD /
BENCH_DURATION), BENCH_WIDE (workers per side in the wide section, default
"1,2,32"), BENCH_FORGED (forged segments, default 100000), BENCH_FORGED_PPS
(their rate, default 20000), BENCH_FORGED_CONNS (idle connections the
worker holds meanwhile, default "0,4000"), BENCH_BULK_CONNS (bulk connections per worker, default 4),
BENCH_BULK_MTUS ("1500,9000").

The exception section, per worker count: wrk -c64 on /bytes/64 over the
tap, first alone, then while test/bench/flood sends BENCH_FLOOD UDP frames
to other on-link addresses (to the stack's MAC) from a packet socket in
netns mpsbench; once with the path off (lwIP drops them as not ours), once
with --exception mpsbx0 at the default rate, mpsbx0 moved into netns
mpsbenchx with 198.18.0.3/24. Busy cycles per request, req/s, the workers'
exc_* counters and what reached mpsbx0 (/mps/exception), all telemetry
deltas over the flood's window.

Where the cycles go: the 1-worker memif echo and the tap HTTP at 64
connections (1 worker), each run with the normal build and then with the
cycles build (build/cycles, `make cycles`: TSC probes in the worker, see
secondary/cycles.h) as the server: the server worker's busy cycles per
request by category (/mps/cycles,ID), and what the probes cost (req/s and
busy cycles per request of both builds on the same workload).

"""
import json
import os
import pathlib
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

from mps import telemetry as tel
from mps import stop_in_order, worker_slots, workers as worker_counters

REPO = pathlib.Path(__file__).resolve().parents[1]
BUILD = REPO / "build"
CYCLES_BUILD = BUILD / "cycles"
NS, KNS = "mpsbench", "mpsbenchk"
MPS_IP, K_IP = "198.18.0.2", "198.18.1.2"
DURATION = int(os.environ.get("BENCH_DURATION", "5"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
CONNS = [int(c) for c in os.environ.get("BENCH_CONNS", "1,8,64,256").split(",")]
WORKERS = [int(w) for w in os.environ.get("BENCH_WORKERS", "1,2").split(",")]
IDLES = os.environ.get("BENCH_IDLE", "backoff,spin").split(",")
PINGS = int(os.environ.get("BENCH_PINGS", "20000"))
PACED_PINGS, PACED_GAP_US = 500, 10000
MEMIF_CONNS = int(os.environ.get("BENCH_MEMIF_CONNS", "32"))
MEMIF_SOCK = "/run/mpstack/bench/memif.sock"
SECTIONS = os.environ.get("BENCH_SECTIONS",
                          "kernel,memif,replace,exception,forged,wide,cycles,bulk").split(",")
WIDE = [int(w) for w in os.environ.get("BENCH_WIDE", "1,2,32").split(",")]
WIDE_CONNS = 128  # connections in all, whatever the worker count
WIDE_HUGEPAGES = 1600  # 2 MB pages for two sides of 32 workers (3.2 GB)
BULK_CONNS = int(os.environ.get("BENCH_BULK_CONNS", "4"))
BULK_MTUS = [int(m) for m in os.environ.get("BENCH_BULK_MTUS", "1500,9000").split(",")]
BULK_NS, BULK_KNS = "mpsbenchb", "mpsbenchbk"  # the kernel pair's namespaces
HDRS = 14 + 20 + 20  # Ethernet, IPv4, TCP without options: a data frame's headers
ROLL_S = 20  # wrk's run in the replace section; the roll starts after 6 s
EXC_NS, EXC_IFACE, EXC_IP = "mpsbenchx", "mpsbx0", "198.18.0.3"  # the kernel's side
EXC_CONNS = 64
FLOOD = int(os.environ.get("BENCH_FLOOD", "100000"))
FLOOD_PPS = int(os.environ.get("BENCH_FLOOD_PPS", "0")) or -(-FLOOD // DURATION)
FLOOD_DST0, FLOOD_DSTS = 64, 64  # flood to 198.18.0.64..127
FORGED = int(os.environ.get("BENCH_FORGED", "100000"))
FORGED_PPS = int(os.environ.get("BENCH_FORGED_PPS", "20000"))
FORGED_CONNS = [int(c) for c in os.environ.get("BENCH_FORGED_CONNS", "0,4000").split(",")]
FORGED_TUPLES = 256  # forged ACKs from 198.18.0.1, source ports 1024..1279 (none in use)
BODY = "x" * 64
started = []  # pids of kernel-side servers we started
kernel_echo = []  # the epoll_echo server's Popen (its CPU time is measured)


def summarize(runs):
    """One point over the passes: each number's median, the runs
    themselves, and the range of req/s (or Gbit/s) where there is one."""
    out = {"runs": runs}
    for k, v in runs[0].items():
        vals = [r[k] for r in runs if isinstance(r.get(k), (int, float))]
        if len(set(vals)) > 1:
            out[k] = statistics.median(vals)
        else:   # not measured (workers, conns) or the same every run
            out[k] = v
        if k in ("rps", "gbps", "cycles_per_req", "cycles_x_off", "cpu_x_off",
                 "cycles_per_frame") and vals:
            out[k + "_min"], out[k + "_max"] = min(vals), max(vals)
    return out


def merge(passes):
    """The passes' results as one: every point summarized over the passes."""
    out = dict(passes[0])
    out["http"] = [summarize([p["http"][i] for p in passes])
                   for i in range(len(passes[0]["http"]))]
    if "replace" in passes[0]:
        out["replace"] = summarize([p["replace"] for p in passes])
    for sec in ("pingpong", "iperf", "pair"):
        if sec in passes[0]:
            out[sec] = {k: summarize([p[sec][k] for p in passes]) for k in passes[0][sec]}
    for sec in ("memif", "exception", "forged", "wide", "cycles", "bulk"):
        if sec in passes[0]:
            out[sec] = [summarize([p[sec][i] for p in passes])
                        for i in range(len(passes[0][sec]))]
    return out


def spread(r, key="rps", spec="{:.0f}"):
    """'median [min-max]' of one repeated figure."""
    if r.get(key) is None:
        return "-"
    return (spec + " [" + spec + "-" + spec + "]").format(
        r[key], r.get(key + "_min", r[key]), r.get(key + "_max", r[key]))


def sh(*cmd, check=True, timeout=120, ns=None):
    if ns:
        cmd = ("ip", "netns", "exec", ns) + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")
    return r


def wait_port(ns, ip, port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sh("bash", "-c", f"exec 3<>/dev/tcp/{ip}/{port}", ns=ns, check=False).returncode == 0:
            return
        time.sleep(0.05)
    sys.exit(f"bench: {ip}:{port} in {ns} did not answer")


def mps_env(workers, idle, extra="", build=BUILD):
    """mps-run.sh's environment; extra: more primary options."""
    return dict(os.environ, MPS_NS=NS, MPS_PREFIX=NS, MPS_BUILD=str(build),
                MPS_PRIMARY_ARGS=f"--listen 7:echo,80:http,5001:iperf --idle {idle} {extra}")


def mps_start(workers, idle, extra="", build=BUILD):
    subprocess.run([str(REPO / "scripts/mps-run.sh"), "start", str(workers)],
                   env=mps_env(workers, idle, extra, build), check=True, capture_output=True)


def mps_stop():
    subprocess.run([str(REPO / "scripts/mps-run.sh"), "stop"], env=mps_env(1, "backoff"),
                   capture_output=True)


def telemetry():
    return worker_counters(NS)


CYC_GAUGES = ("tsc_read_cycles",)  # not counters: the largest, never a difference


def cycles_zone(prefix, workers):
    """The workers' busy cycles by category (/mps/cycles,ID), summed;
    {} from workers of the normal build."""
    tot = {}
    for w in range(workers):
        for k, v in tel(prefix, "/mps/cycles", w).items():
            tot[k] = max(tot.get(k, 0), v) if k in CYC_GAUGES else tot.get(k, 0) + v
    return tot


def delta(after, before):
    return {k: after[k] if k in CYC_GAUGES else after[k] - before.get(k, 0) for k in after}


def kernel_setup():
    """veth to a second namespace running nginx-light, epoll echo, iperf -s."""
    sh("ip", "netns", "add", KNS)
    sh("ip", "link", "add", "mpsbk0", "netns", NS, "type", "veth", "peer",
       "name", "mpsbk1", "netns", KNS)
    sh("ip", "addr", "add", "198.18.1.1/24", "dev", "mpsbk0", ns=NS)
    sh("ip", "link", "set", "mpsbk0", "up", ns=NS)
    sh("ip", "addr", "add", "198.18.1.2/24", "dev", "mpsbk1", ns=KNS)
    sh("ip", "link", "set", "mpsbk1", "up", ns=KNS)
    sh("ip", "link", "set", "lo", "up", ns=KNS)
    cmds = [[str(BUILD / "bench/epoll_echo"), "7"], ["iperf", "-s", "-p", "5001"]]
    for w in WORKERS:
        conf = BUILD / "bench" / f"nginx-{w}.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(f"""
worker_processes {w};
daemon off;
pid {conf.parent}/nginx-{w}.pid;
error_log stderr error;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 10000000;
  server {{
    listen {K_IP}:{nginx_port(w)} reuseport;
    location / {{ default_type text/plain; return 200 "{BODY}"; }}
  }}
}}
""")
        cmds.append(["nginx", "-c", str(conf), "-e", "stderr"])
    for cmd in cmds:
        p = subprocess.Popen(["ip", "netns", "exec", KNS, *cmd],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(p)
    kernel_echo[:] = started[:1]  # ip netns exec execs the command: same pid
    for port in [7, 5001] + [nginx_port(w) for w in WORKERS]:
        wait_port(NS, K_IP, port)


def nginx_port(workers):
    """The port of the nginx instance with that many worker processes."""
    return 8000 + workers


def cleanup():
    for p in started:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
    # nginx's own workers: only those of our configs' pid files.
    for pidf in (BUILD / "bench").glob("nginx-*.pid"):
        try:
            os.kill(int(pidf.read_text()), signal.SIGQUIT)
        except (ValueError, ProcessLookupError):
            pass
    started.clear()
    mps_stop()
    sh("ip", "netns", "del", KNS, check=False)
    sh("ip", "netns", "del", EXC_NS, check=False)


def parse_wrk(out):
    def lat(pct):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)", out, re.M)
        if not m:
            return None
        v, u = float(m.group(1)), m.group(2)
        return v * {"us": 1, "ms": 1e3, "s": 1e6}[u]
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    return {"rps": float(rps.group(1)) if rps else 0.0, "p50_us": lat(50),
            "p99_us": lat(99), "errors": errs.group(0) if errs else ""}


def wrk(url, conns):
    threads = 1 if conns < 2 else 2
    r = sh("wrk", f"-t{threads}", f"-c{conns}", f"-d{DURATION}s", "--latency", url,
           ns=NS, timeout=DURATION + 60)
    return parse_wrk(r.stdout)


def pingpong(ip, gap_us=0):
    """Round trips back to back, or PACED_PINGS of them gap_us apart (the
    server idles in between: what its wake-up costs)."""
    n = PACED_PINGS if gap_us else PINGS
    r = sh(str(BUILD / "bench/pingpong"), ip, "7", str(n), str(gap_us), ns=NS, timeout=300)
    return json.loads(r.stdout)


def cpu_ns(pids, field=0):
    """Time on a CPU so far (ns), every thread of every pid; field 1: time
    spent waiting on a run queue (ns), 2: time slices run (switches in)."""
    total = 0
    for pid in pids:
        for f in pathlib.Path(f"/proc/{pid}/task").glob("*/schedstat"):
            try:
                total += int(f.read_text().split()[field])
            except (OSError, ValueError, IndexError):
                pass
    return total


def kernel_pair():
    """The kernel at both ends: epoll_load -> epoll_echo over the veth."""
    pid = kernel_echo[0].pid
    before = cpu_ns([pid])
    r = sh(str(BUILD / "bench/epoll_load"), K_IP, "7", str(MEMIF_CONNS), str(DURATION),
           ns=NS, timeout=DURATION + 60)
    res = json.loads(r.stdout)
    used = cpu_ns([pid]) - before  # includes the 1 s warm-up's requests' share
    return {"conns": MEMIF_CONNS, "rps": res["rps"],
            "server_cpu_ns_per_req": round(used / (res["rps"] * (res["seconds"] + 1)))}


def iperf(ip):
    r = sh("iperf", "-c", ip, "-p", "5001", "-t", str(DURATION), "-f", "m", "-y", "C",
           ns=NS, timeout=DURATION + 60, check=False)
    rows = [l.split(",") for l in r.stdout.strip().splitlines() if l.count(",") >= 8]
    return round(float(rows[-1][8]) / 1e9, 3) if rows else None


def memif_stack(prefix, role, mac, ip, workers, app_args, cpu0, wave=None, build=BUILD,
                devargs=""):
    """A primary on a memif port plus its workers, outside any netns (memif
    never touches the kernel's network). Returns the Popen objects. With
    wave, workers start that many at a time, each wave once the previous
    one runs (dozens of secondaries starting at once on 2 CPUs outlast
    EAL's start-up exchanges with the primary)."""
    procs = [subprocess.Popen(
        [str(build / "mps-primary"), "--file-prefix", prefix, "--no-pci", "--lcores", "0@0",
         "--vdev", f"net_memif0,role={role},socket={MEMIF_SOCK},socket-abstract=no,mac={mac}"
         f"{devargs}",
         "--log-level=lib.eal:error", "--", "--workers", str(workers), "--ip", ip, *app_args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)]
    out = [procs[0].stdout.readline()]
    while out[-1] and "ready" not in out[-1]:
        out.append(procs[0].stdout.readline())
    if not out[-1]:
        stop_procs(procs)
        sys.exit(f"bench: memif {role} primary did not start:\n" + "".join(out))
    for w in range(workers):
        if wave and w and w % wave == 0:
            wait_running(prefix, w, procs)
        procs.append(subprocess.Popen(
            [str(build / "mps-secondary"), "--file-prefix", prefix, "--no-pci",
             "--no-telemetry", "--lcores", f"{w + 1}@{(cpu0 + w) % os.cpu_count()}",
             "--log-level=lib.eal:error", "--", "--worker", str(w)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs


def wait_running(prefix, n, procs, timeout=60):
    """Waits until workers 0..n-1 of the stack at prefix run."""
    deadline = time.monotonic() + timeout
    while sum(1 for k, w in worker_slots(prefix).items()
              if int(k) < n and w["state"] == "running") < n:
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            stop_procs(procs)
            sys.exit(f"bench: {prefix}: workers 0..{n - 1} did not start")
        time.sleep(0.2)


def stop_procs(procs):
    """A memif stack's workers, then its primary (procs[0])."""
    stop_in_order([procs[1:], procs[:1]], 15)


def memif_sock_fresh():
    """The memif socket's folder, without a socket a run that was cut off
    left (the server would not listen, the client would be refused)."""
    sock = pathlib.Path(MEMIF_SOCK)
    sock.parent.mkdir(parents=True, exist_ok=True)
    sock.unlink(missing_ok=True)


def gen_idle(workers, idle):
    """The generator's idle mode: the server's with 1 worker each side (the
    server's worker runs on CPU 1, the generator's on CPU 0); else backoff
    (server workers take CPUs 1..N, generator workers 0..N-1: spinning
    workers would share CPUs and measure the scheduler). A generator that
    sleeps while the server spins paces the run by its sleeps: each wave of
    answers waits for the generator's nanosleep to end (net_memif gives it
    nothing to wait on)."""
    return idle if workers == 1 else "backoff"


def memif_run(workers, idle="spin", conns=MEMIF_CONNS, wave=None, server_build=BUILD):
    """Server echo on one memif end (programs of server_build), the load
    generator (conns connections per worker, --idle gen_idle()) on the
    other."""
    memif_sock_fresh()
    t_start = time.monotonic()
    server = memif_stack("mpsbenchm1", "server", "02:00:00:00:00:02", "198.18.2.2/24",
                         workers, ["--listen", "7:echo", "--idle", idle], 1, wave,
                         server_build)
    gen, idle_ns = [], None
    try:
        time.sleep(0.5)
        if idle != "spin":  # what the idle server costs, before any load
            wait_running("mpsbenchm1", workers, server)
            b_cpu, t0 = cpu_ns([p.pid for p in server[1:]]), time.monotonic()
            time.sleep(2)
            idle_ns = (cpu_ns([p.pid for p in server[1:]]) - b_cpu) / (time.monotonic() - t0)
        gen = memif_stack("mpsbenchm2", "client", "02:00:00:00:00:01", "198.18.2.1/24",
                          workers, ["--listen", "9:discard", "--connect",
                                    f"198.18.2.2:7:load*{conns}",
                                    "--idle", gen_idle(workers, idle)], 0, wave)
        want = workers * conns
        deadline = time.monotonic() + 20 + 2 * workers
        while sum(w["tcp_connect_ok"] for w in worker_counters("mpsbenchm2").values()) < want:
            if time.monotonic() > deadline:
                sys.exit("bench: memif generator connections did not open")
            time.sleep(0.1)
        time.sleep(0.5)  # past the start-up transient
        print(f"bench: memif {workers} worker(s) per side up in {time.monotonic() - t_start:.1f}s",
              file=sys.stderr, flush=True)
        srv_pids = [p.pid for p in server[1:]]
        b_gen, b_srv, t0 = worker_counters("mpsbenchm2"), worker_counters("mpsbenchm1"), time.monotonic()
        b_cpu, b_wait, b_sw = (cpu_ns(srv_pids, f) for f in (0, 1, 2))
        b_cyc = cycles_zone("mpsbenchm1", workers)
        time.sleep(DURATION)
        a_cpu, a_wait, a_sw = (cpu_ns(srv_pids, f) for f in (0, 1, 2))
        a_cyc = cycles_zone("mpsbenchm1", workers)
        a_gen, a_srv, t1 = worker_counters("mpsbenchm2"), worker_counters("mpsbenchm1"), time.monotonic()
    finally:
        t_stop = time.monotonic()
        stop_procs(gen)
        stop_procs(server)
        print(f"bench: memif {workers} worker(s) per side stopped in "
              f"{time.monotonic() - t_stop:.1f}s", file=sys.stderr, flush=True)
    reqs = sum(a_gen[w]["client_rtts"] - b_gen[w]["client_rtts"] for w in a_gen)
    busy = sum(a_srv[w]["busy_cycles"] - b_srv[w]["busy_cycles"] for w in a_srv)
    busy_its = sum(a_srv[w]["busy_iterations"] - b_srv[w]["busy_iterations"] for w in a_srv)
    rps = reqs / (t1 - t0)
    per_srv = {w: a_srv[w]["rx_pkts"] - b_srv[w]["rx_pkts"] for w in a_srv}
    return {"workers": workers, "idle": idle, "gen_idle": gen_idle(workers, idle),
            "conns": workers * conns, "rps": round(rps),
            "server_busy_cycles_per_req": round(busy / reqs) if reqs else None,
            "server_cpu_ns_per_req": round((a_cpu - b_cpu) / reqs) if reqs else None,
            "server_runq_wait_ns_per_req": round((a_wait - b_wait) / reqs) if reqs else None,
            "server_switches_per_1k_req": round(1000 * (a_sw - b_sw) / reqs, 1) if reqs else None,
            "server_rx_pkts_per_worker": per_srv,
            "server_pkts_per_busy_iteration": round(sum(per_srv.values()) / busy_its, 1)
            if busy_its else None,
            "idle_cpu_ms_per_s_per_worker": round(idle_ns / 1e6 / workers, 2)
            if idle_ns is not None else None,
            "reqs": reqs, "cycles": delta(a_cyc, b_cyc)}


def bulk_memif(workers, mtu):
    """The generator's bulk clients (BULK_CONNS per worker) stream into the
    other mpstack's discard app over memif; both sides' counters over
    DURATION s."""
    memif_sock_fresh()
    # A memif buffer holds a whole frame (headroom-free: MTU + Ethernet
    # header and a VLAN tag), rounded up to 1 KiB; the default 2048 would
    # chain a jumbo frame over several.
    bsize = max(2048, (mtu + 18 + 1023) // 1024 * 1024)
    dev = f",bsize={bsize}"
    common = ["--mtu", str(mtu)]
    rcv = memif_stack("mpsbenchm1", "server", "02:00:00:00:00:02", "198.18.2.2/24",
                      workers, ["--listen", "9:discard", "--idle", "spin", *common], 1, devargs=dev)
    snd = []
    try:
        time.sleep(0.5)
        snd = memif_stack("mpsbenchm2", "client", "02:00:00:00:00:01", "198.18.2.1/24",
                          workers, ["--listen", "7:echo", "--connect",
                                    f"198.18.2.2:9:bulk*{BULK_CONNS}", *common], 0, devargs=dev)
        want = workers * BULK_CONNS
        deadline = time.monotonic() + 20
        while sum(w["tcp_connect_ok"] for w in worker_counters("mpsbenchm2").values()) < want:
            if time.monotonic() > deadline:
                sys.exit("bench: memif bulk connections did not open")
            time.sleep(0.1)
        time.sleep(1)  # past slow start
        b_snd, b_rcv, t0 = worker_counters("mpsbenchm2"), worker_counters("mpsbenchm1"), time.monotonic()
        time.sleep(DURATION)
        a_snd, a_rcv, t1 = worker_counters("mpsbenchm2"), worker_counters("mpsbenchm1"), time.monotonic()
    finally:
        stop_procs(snd)
        stop_procs(rcv)

    def delta(a, b, key):
        return sum(a[w][key] - b[w][key] for w in a)
    frames = delta(a_rcv, b_rcv, "rx_pkts")
    payload = delta(a_rcv, b_rcv, "rx_bytes") - HDRS * frames
    gbps = payload * 8 / (t1 - t0) / 1e9
    return {"pair": "mpstack", "workers": workers, "mtu": mtu, "conns": want,
            "gbps": round(gbps, 3), "gbps_per_worker": round(gbps / workers, 3),
            "frame_bytes": round(delta(a_rcv, b_rcv, "rx_bytes") / frames) if frames else None,
            "snd_cycles_per_byte": round(delta(a_snd, b_snd, "busy_cycles") / payload, 2)
            if payload > 0 else None,
            "rcv_cycles_per_byte": round(delta(a_rcv, b_rcv, "busy_cycles") / payload, 2)
            if payload > 0 else None,
            "rcv_drop_multiseg": delta(a_rcv, b_rcv, "rx_drop_multiseg"),
            "snd_tx_drops": sum(delta(a_snd, b_snd, k) for k in
                                ("tx_drop_full", "tx_drop_nombuf", "tx_drop_toolong"))}


def bulk_kernel(workers, mtu):
    """iperf 2 (-P workers streams) between two namespaces of its own over
    a veth pair with that MTU."""
    sh("ip", "netns", "del", BULK_NS, check=False)
    sh("ip", "netns", "del", BULK_KNS, check=False)
    srv = None
    try:
        sh("ip", "netns", "add", BULK_NS)
        sh("ip", "netns", "add", BULK_KNS)
        sh("ip", "link", "add", "mpsbb0", "netns", BULK_NS, "type", "veth", "peer",
           "name", "mpsbb1", "netns", BULK_KNS)
        for ns, dev, ip in ((BULK_NS, "mpsbb0", "198.18.3.1/24"),
                            (BULK_KNS, "mpsbb1", "198.18.3.2/24")):
            sh("ip", "addr", "add", ip, "dev", dev, ns=ns)
            sh("ip", "link", "set", dev, "mtu", str(mtu), "up", ns=ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        srv = subprocess.Popen(["ip", "netns", "exec", BULK_KNS, "iperf", "-s", "-p", "5001"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(BULK_NS, "198.18.3.2", 5001)
        r = sh("iperf", "-c", "198.18.3.2", "-p", "5001", "-t", str(DURATION), "-P",
               str(workers), "-f", "m", "-y", "C", ns=BULK_NS, timeout=DURATION + 60,
               check=False)
        rows = [l.split(",") for l in r.stdout.strip().splitlines() if l.count(",") >= 8]
        gbps = float(rows[-1][8]) / 1e9 if rows else None
    finally:
        if srv is not None:
            srv.terminate()
            try:
                srv.wait(5)
            except subprocess.TimeoutExpired:
                srv.kill()
        sh("ip", "netns", "del", BULK_NS, check=False)
        sh("ip", "netns", "del", BULK_KNS, check=False)
    return {"pair": "kernel", "workers": workers, "mtu": mtu, "conns": workers,
            "gbps": None if gbps is None else round(gbps, 3),
            "gbps_per_worker": None if gbps is None else round(gbps / workers, 3)}


def replace_roll():
    """wrk (32 keep-alive connections, ROLL_S s) over 2 workers over the tap
    while scripts/mps-run.sh restart all replaces both, from the 6th
    second: requests answered in each second (telemetry's totals, drain
    slots included), the median second before the roll and the worst one
    during it, wrk's errors, and each hand-over's time (the successors'
    logs)."""
    from mps import telemetry as tel
    mps_start(2, "backoff")
    samples, roll, roll_t0, roll_t1 = [], None, None, None
    try:
        wrk_p = subprocess.Popen(["ip", "netns", "exec", NS, "wrk", "-t1", "-c32",
                                  f"-d{ROLL_S}s", f"http://{MPS_IP}/"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        t0 = time.monotonic()
        while wrk_p.poll() is None:
            now = time.monotonic() - t0
            samples.append((now, tel(NS, "/mps/stats")["http_requests"]))
            if roll is None and now >= 6:
                roll_t0 = now
                roll = subprocess.Popen([str(REPO / "scripts/mps-run.sh"), "restart", "all"],
                                        env=mps_env(2, "backoff"), stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
            if roll is not None and roll_t1 is None and roll.poll() is not None:
                roll_t1 = now
            time.sleep(1 - (time.monotonic() - t0) % 1)
        out, _ = wrk_p.communicate()
        roll.communicate(timeout=60)
        roll_t1 = roll_t1 if roll_t1 is not None else samples[-1][0]
        logs = "".join(p.read_text() for p in
                       pathlib.Path(f"/run/mpstack/{NS}").glob("worker-*.log"))
    finally:
        mps_stop()
    per_s = [(t1, (n1 - n0) / (t1 - t0)) for (t0, n0), (t1, n1) in zip(samples, samples[1:])]
    before = [r for t, r in per_s if 1 < t <= roll_t0]
    during = [r for t, r in per_s if roll_t0 < t <= roll_t1 + 1]
    w = parse_wrk(out)
    return {"rps_before": statistics.median(before) if before else None,
            "rps_worst_during": min(during) if during else None,
            "seconds_rolling": round(roll_t1 - roll_t0, 1),
            "errors": w["errors"] or "none", "roll_ok": roll.returncode == 0,
            "handover_us": [int(x) for x in
                            re.findall(r"took over queue \d+ from pid \d+ in (\d+) us", logs)],
            "per_second": [round(r) for _, r in per_s]}


def exc_stack(workers, on):
    """mpstack with the exception path off, or on: IFACE moved into a
    namespace of its own with 198.18.0.3/24 (as a host keeps it), the
    default --exception-rate."""
    mps_start(workers, "backoff", f"--exception {EXC_IFACE}" if on else "")
    if on:
        sh("ip", "netns", "add", EXC_NS)
        sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
           "net.ipv6.conf.default.disable_ipv6=1", ns=EXC_NS)
        sh("ip", "link", "set", EXC_IFACE, "netns", EXC_NS, ns=NS)
        sh("ip", "link", "set", "lo", "up", ns=EXC_NS)
        sh("ip", "addr", "add", f"{EXC_IP}/24", "dev", EXC_IFACE, ns=EXC_NS)
        sh("ip", "link", "set", EXC_IFACE, "up", ns=EXC_NS)


def flood_frames(path):
    """FLOOD_DSTS UDP frames from the client's side to other on-link
    addresses, to the stack's MAC (as the client's neighbour entry has it),
    written back to back; returns their length."""
    from scapy.all import IP, UDP, Ether
    sh("ping", "-c", "1", "-W", "5", MPS_IP, ns=NS)
    neigh = sh("ip", "neigh", "show", MPS_IP, "dev", "mps0", ns=NS).stdout.split()
    src = json.loads(sh("ip", "-j", "link", "show", "mps0", ns=NS).stdout)[0]["address"]
    frames = [bytes(Ether(dst=neigh[neigh.index("lladdr") + 1], src=src) /
                    IP(src="198.18.0.1", dst=f"198.18.0.{FLOOD_DST0 + i}") /
                    UDP(sport=4444 + i, dport=9) / (b"x" * 18)) for i in range(FLOOD_DSTS)]
    pathlib.Path(path).write_bytes(b"".join(frames))
    return len(frames[0])


def tap_dropped():
    """Frames the kernel could not hand to the port (mps0's TX drops)."""
    return json.loads(sh("ip", "-j", "-s", "link", "show", "mps0", ns=NS).stdout)[0][
        "stats64"]["tx"]["dropped"]


def exc_caught_up(before):
    """/mps/exception once the primary has written (or seen refused) every
    frame the workers handed it; None until then."""
    from mps import telemetry as tel
    e = tel(NS, "/mps/exception")
    handed = sum(e[k] - before[k] for k in ("exc_ip", "exc_arp", "exc_arp_copy",
                                            "exc_ethertype", "exc_vlan")) - \
        sum(e[k] - before[k] for k in ("exc_drop_rate", "exc_drop_full"))
    done = e["to_kernel_pkts"] + e["to_kernel_drop"] - \
        before["to_kernel_pkts"] - before["to_kernel_drop"]
    return e if done >= handed else None


def exc_point(workers, on, frames):
    """wrk -c64 on /bytes/64 and, over the measured window, either nothing
    (frames None) or the flood (FLOOD frames at FLOOD_PPS from a packet
    socket on mps0). Every figure is a telemetry delta over that window;
    the exception counters once the primary has caught up."""
    from mps import telemetry as tel
    state = pathlib.Path(f"/run/mpstack/{NS}")
    served = tel(NS, "/mps/stats")["http_requests"]
    wrk_p = subprocess.Popen(["ip", "netns", "exec", NS, "wrk", "-t2", f"-c{EXC_CONNS}",
                              f"-d{3 * DURATION + 30}s", f"http://{MPS_IP}/bytes/64"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 10
        while tel(NS, "/mps/stats")["http_requests"] < served + 1000:
            if time.monotonic() > deadline or wrk_p.poll() is not None:
                sys.exit("bench: wrk did not get going against mpstack")
            time.sleep(0.05)
        time.sleep(0.5)  # every connection open
        wpids = [w["pid"] for w in telemetry().values()]
        ppid = int((state / "primary.pid").read_text())
        b, be, bd, t0 = telemetry(), tel(NS, "/mps/exception"), tap_dropped(), time.monotonic()
        bcpu, bpcpu = cpu_ns(wpids), cpu_ns([ppid])
        fl = None
        if frames:
            fl = json.loads(sh(str(BUILD / "bench/flood"), "mps0", frames[0], str(frames[1]),
                               str(FLOOD), str(FLOOD_PPS), ns=NS,
                               timeout=3 * DURATION + 20).stdout)
        else:
            time.sleep(DURATION)
        acpu, apcpu = cpu_ns(wpids), cpu_ns([ppid])
        a, t1 = telemetry(), time.monotonic()
        deadline = t1 + 10
        ae = exc_caught_up(be)
        while ae is None and time.monotonic() < deadline:
            time.sleep(0.05)
            ae = exc_caught_up(be)
        t_caught = time.monotonic()
        ae = ae or tel(NS, "/mps/exception")
    finally:
        if wrk_p.poll() is None:
            wrk_p.send_signal(signal.SIGINT)  # wrk stops and prints its summary
        out, _ = wrk_p.communicate(timeout=30)
    d = {k: sum(a[w][k] - b[w][k] for w in a) for k in ("http_requests", "rx_pkts")}
    e = {k: ae[k] - be[k] for k in ("exc_ip", "exc_drop_rate", "exc_drop_full",
                                    "to_kernel_pkts", "to_kernel_drop")}
    res = {"workers": workers, "exception": "on" if on else "off",
           "flood": FLOOD if frames else 0, "rps": round(d["http_requests"] / (t1 - t0)),
           **cost(b, a), "worker_cpu_ns_per_req":
           round((acpu - bcpu) / d["http_requests"]) if d["http_requests"] else None,
           "primary_cpu_ms": round((apcpu - bpcpu) / 1e6), "rx_pkts": d["rx_pkts"],
           "tap_dropped": tap_dropped() - bd, "wrk_errors": parse_wrk(out)["errors"] or "none",
           **e, "rate": ae["rate"]}
    if fl:
        res.update(flood_pps=fl["pps"], flood_s=fl["seconds"])
    if on and fl:  # the limiter's bound over the time the frames took to be handed
        res["rate_bound"] = round(ae["rate"] * ae["burst_ms"] / 1000 + 1 +
                                  ae["rate"] * (t_caught - t0))
    return res


def forged_frames(path):
    """FORGED_TUPLES TCP ACKs from the client's address to the stack's echo
    port, from source ports below the kernel's ephemeral range (so for no
    connection), to the stack's MAC; written back to back. Returns their
    length."""
    from scapy.all import IP, TCP, Ether
    sh("ping", "-c", "1", "-W", "5", MPS_IP, ns=NS)
    neigh = sh("ip", "neigh", "show", MPS_IP, "dev", "mps0", ns=NS).stdout.split()
    src = json.loads(sh("ip", "-j", "link", "show", "mps0", ns=NS).stdout)[0]["address"]
    frames = [bytes(Ether(dst=neigh[neigh.index("lladdr") + 1], src=src) /
                    IP(src="198.18.0.1", dst=MPS_IP) /
                    TCP(sport=1024 + i, dport=7, flags="A", seq=1000, ack=2000, window=8192))
              for i in range(FORGED_TUPLES)]
    pathlib.Path(path).write_bytes(b"".join(frames))
    return len(frames[0])


IDLE_CLIENT = """
import resource, socket, sys
n = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 64, n + 64))
socks = [socket.create_connection((sys.argv[2], 7), timeout=30) for _ in range(n)]
print("open", flush=True)
sys.stdin.read()
"""


def forged_point(conns, path):
    """1 worker holding conns idle echo connections (from the kernel in
    netns mpsbench); FORGED forged ACKs at FORGED_PPS. Figures: telemetry
    deltas from before the flood until the worker has received every
    frame (or 30 s more passed)."""
    mps_start(1, "backoff", "--max-conns-per-ip 0")
    flen = forged_frames(path)
    idle = subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, "-c", IDLE_CLIENT, str(conns),
                             MPS_IP], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if idle.stdout.readline().strip() != "open":
            sys.exit(f"bench: {conns} idle connections did not open")
        deadline = time.monotonic() + 30
        while sum(w["tcp_active"] for w in telemetry().values()) < conns:
            if time.monotonic() > deadline:
                sys.exit(f"bench: the worker does not hold {conns} connections")
            time.sleep(0.1)
        b, t0 = telemetry(), time.monotonic()
        fl = json.loads(sh(str(BUILD / "bench/flood"), "mps0", str(path), str(flen), str(FORGED),
                           str(FORGED_PPS), ns=NS, timeout=FORGED // FORGED_PPS + 60).stdout)
        deadline = time.monotonic() + 30
        while True:
            a = telemetry()
            got = sum(a[w]["rx_pkts"] - b[w]["rx_pkts"] for w in a)
            if got >= FORGED or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        t1 = time.monotonic()
    finally:
        idle.stdin.close()
        idle.wait(timeout=30)
        mps_stop()
    d = {k: sum(a[w][k] - b[w][k] for w in a) for k in ("busy_cycles", "rx_pkts", "tx_pkts")}
    return {"conns": conns, "frames": FORGED, "pps": fl["pps"], "rx_pkts": d["rx_pkts"],
            "tx_pkts": d["tx_pkts"], "seconds": round(t1 - t0, 1),
            "cycles_per_frame": round(d["busy_cycles"] / d["rx_pkts"]) if d["rx_pkts"] else None}


def forged_section():
    """Per connection count: forged segments of no connection, answered
    with RSTs; what each costs the worker."""
    path = BUILD / "bench" / "forged.bin"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return [forged_point(conns, path) for conns in FORGED_CONNS]
    finally:
        path.unlink(missing_ok=True)


def exception_flood(results):
    """Per worker count: the exception path off, then on; each with no
    flood, then with the flood; the flood's busy cycles and CPU time per
    request with the path on against off, in this pass."""
    path = BUILD / "bench" / "flood.bin"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = results["exception"] = []
    try:
        for workers in WORKERS:
            for on in (False, True):
                exc_stack(workers, on)
                frames = (str(path), flood_frames(path))
                rows.append(exc_point(workers, on, None))
                rows.append(exc_point(workers, on, frames))
                mps_stop()
                sh("ip", "netns", "del", EXC_NS, check=False)
            off, on_ = rows[-3], rows[-1]
            for key, ratio in (("cycles_per_req", "cycles_x_off"),
                               ("worker_cpu_ns_per_req", "cpu_x_off")):
                on_[ratio] = round(on_[key] / off[key], 3) if on_[key] and off[key] else None
    finally:
        path.unlink(missing_ok=True)


CYC_CONNS = 64  # the tap HTTP workload of the cycles section


def tap_http(build):
    """wrk, CYC_CONNS connections, against 1 worker of build over the tap:
    req/s, requests and busy cycles (telemetry), busy cycles by category."""
    mps_start(1, "backoff", build=build)
    try:
        before, b_cyc = telemetry(), cycles_zone(NS, 1)
        res = wrk(f"http://{MPS_IP}/bytes/64", CYC_CONNS)
        after, a_cyc = telemetry(), cycles_zone(NS, 1)
    finally:
        mps_stop()
    reqs = sum(after[w]["http_requests"] - before[w]["http_requests"] for w in after)
    busy = sum(after[w]["busy_cycles"] - before[w]["busy_cycles"] for w in after)
    return {"rps": res["rps"], "reqs": reqs,
            "server_busy_cycles_per_req": round(busy / reqs) if reqs else None,
            "cycles": delta(a_cyc, b_cyc)}


CYC_WORKLOADS = [
    (f"memif echo, 1+1 workers, {MEMIF_CONNS} conns", lambda b: memif_run(1, server_build=b)),
    (f"tap HTTP, 1 worker, {CYC_CONNS} conns", tap_http),
]
CYC_TOTALS = ("busy_cycles", "busy_iterations", "unbalanced", "tsc_reads") + CYC_GAUGES


def cycles_section():
    """Each workload with the normal build, then the cycles build: the
    probes' cost, and the cycles build's busy cycles per request by
    category (flat keys, so that the passes' medians can be taken)."""
    if not (CYCLES_BUILD / "mps-secondary").exists():
        sys.exit(f"bench: {CYCLES_BUILD}/mps-secondary missing: run make cycles")
    out = []
    for name, run in CYC_WORKLOADS:
        normal, probed = run(BUILD), run(CYCLES_BUILD)
        c, reqs = probed["cycles"], probed["reqs"]
        if not c or not reqs:
            sys.exit(f"bench: {name}: no cycles figures from the cycles build")
        row = {"workload": name, "rps_normal": normal["rps"], "rps_cycles": probed["rps"],
               "busy_per_req_normal": normal["server_busy_cycles_per_req"],
               "busy_per_req_cycles": round(c["busy_cycles"] / reqs),
               "unbalanced": c["unbalanced"],
               "tsc_reads_per_req": round(c["tsc_reads"] / reqs, 1),
               "tsc_read_cycles": c["tsc_read_cycles"],
               "categories": [k for k in c if k not in CYC_TOTALS]}
        row.update({"cyc_" + k: round(c[k] / reqs) for k in row["categories"]})
        out.append(row)
    return out


def cost(before, after):
    """Busy cycles per HTTP request and packets per busy iteration."""
    d = {k: sum(after[w][k] - before[w][k] for w in after)
         for k in ("busy_cycles", "http_requests", "rx_pkts", "busy_iterations")}
    return {"cycles_per_req": round(d["busy_cycles"] / d["http_requests"]) if d["http_requests"] else None,
            "pkts_per_iter": round(d["rx_pkts"] / d["busy_iterations"], 2) if d["busy_iterations"] else None}


def fmt(v, spec="{:.0f}"):
    return "-" if v is None else spec.format(v)


def main():
    if os.geteuid() != 0:
        sys.exit("bench: must run as root")
    # SIGTERM (kill, a CI timeout) stops it as Ctrl-C does: through the
    # finally blocks, which stop what it started and delete its namespaces.
    signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(128 + sig))
    for tool in ("wrk", "nginx", "iperf"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} missing: run scripts/deps.sh bench")
    if "wide" in SECTIONS and max(WIDE) > 2:
        # A side of 32 workers sizes its pool at 524287 mbufs (about 1.2 GB
        # of 2 MB pages), and the wide section runs two sides at once.
        subprocess.run([str(REPO / "scripts/hugepages.sh"), str(WIDE_HUGEPAGES)], check=True)
    passes = []
    mps_stop()
    sh("ip", "netns", "del", KNS, check=False)
    sh("ip", "netns", "del", EXC_NS, check=False)
    # BENCH_RUNS passes over every point (not N runs of a point in a row):
    # the range then covers what drifts over a whole bench.
    for n in range(RUNS):
        results = {"machine": machine(), "duration_s": DURATION, "runs": RUNS,
                   "http": [], "pingpong": {}, "iperf": {}}
        print(f"bench: pass {n + 1}/{RUNS}", file=sys.stderr, flush=True)
        try:
            if "kernel" in SECTIONS:
                tap_vs_kernel(results)
            if "memif" in SECTIONS:
                results["memif"] = [memif_run(w) for w in WORKERS]
            if "replace" in SECTIONS:
                results["replace"] = replace_roll()
            if "exception" in SECTIONS:
                exception_flood(results)
            if "forged" in SECTIONS:
                results["forged"] = forged_section()
            if "wide" in SECTIONS:
                results["wide"] = [memif_run(w, "backoff", max(1, WIDE_CONNS // w), wave=8)
                                   for w in WIDE]
            if "cycles" in SECTIONS:
                results["cycles"] = cycles_section()
            if "bulk" in SECTIONS:
                results["bulk"] = [f(w, m) for m in BULK_MTUS for w in WORKERS
                                   for f in (bulk_kernel, bulk_memif)]
        finally:
            cleanup()
        passes.append(results)
    results = merge(passes)
    report(results)


def tap_vs_kernel(results):
    """HTTP, ping-pong and iperf: the kernel over veth, mpstack over its tap."""
    mps_start(1, "backoff")
    kernel_setup()
    for workers in WORKERS:
        for conns in CONNS:
            url = f"http://{K_IP}:{nginx_port(workers)}/"
            results["http"].append({"stack": "kernel", "workers": workers, "idle": "-",
                                    "conns": conns,
                                    **wrk(url, conns)})
    results["pingpong"]["kernel"] = pingpong(K_IP)
    results["pingpong"]["kernel paced"] = pingpong(K_IP, PACED_GAP_US)
    results["pair"] = {"kernel": kernel_pair()}
    results["iperf"]["kernel"] = {"gbps": iperf(K_IP)}
    mps_stop()
    for idle in IDLES:
        for workers in WORKERS:
            mps_start(workers, idle)
            for conns in CONNS:
                before = telemetry()
                res = wrk(f"http://{MPS_IP}/bytes/64", conns)
                res.update(cost(before, telemetry()))
                results["http"].append({"stack": "mpstack", "workers": workers,
                                        "idle": idle, "conns": conns, **res})
            if workers == 1:
                results["pingpong"][f"mpstack-{idle}"] = pingpong(MPS_IP)
                results["pingpong"][f"mpstack-{idle} paced"] = pingpong(MPS_IP, PACED_GAP_US)
                if idle == IDLES[0]:
                    results["iperf"]["mpstack"] = {"gbps": iperf(MPS_IP)}
            mps_stop()


def machine():
    """What the figures were measured on."""
    model = next((l.split(":", 1)[1].strip() for l in
                  pathlib.Path("/proc/cpuinfo").read_text().splitlines()
                  if l.startswith("model name")), platform.machine())
    return {"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "cpu": model,
            "kernel": platform.release(),
            "dpdk": sh("pkg-config", "--modversion", "libdpdk", check=False).stdout.strip()}


def exc_report(rows):
    """The exception section: what the flood costs the HTTP service, then
    where its frames went."""
    rate = next((r["rate"] for r in rows if r["exception"] == "on"), "-")
    print(f"\nFlood of {FLOOD} frames for other addresses (UDP to 198.18.0.{FLOOD_DST0}-"
          f"{FLOOD_DST0 + FLOOD_DSTS - 1}, to the stack's MAC, from a packet socket on mps0 at "
          f"{FLOOD_PPS}/s) under wrk -c{EXC_CONNS} /bytes/64 over the tap; exception path on: "
          f"--exception {EXC_IFACE} (in netns {EXC_NS}), rate {rate}/s. Over the flood's "
          f"window (no flood: {DURATION} s); median [range] over the passes. cyc/req: the "
          "workers' TSC busy cycles (preemption included), ns/req: their CPU time "
          "(schedstat); x off: with the path on / off under the same flood, in each pass")
    print(f"{'wrk':>3} {'mode':24} {'req/s median [range]':>22} {'cyc/req median [range]':>24} "
          f"{'cyc x off [range]':>21} {'ns/req':>6} {'ns x off':>8}")
    for r in rows:
        mode = f"{'flood' if r['flood'] else 'no flood'}, exception {r['exception']}"
        print(f"{r['workers']:>3} {mode:24} {spread(r):>22} {spread(r, 'cycles_per_req'):>24} "
              f"{spread(r, 'cycles_x_off', '{:.3f}'):>21} {fmt(r['worker_cpu_ns_per_req']):>6} "
              f"{fmt(r.get('cpu_x_off'), '{:.3f}'):>8}")
    print("\nWhere the flood went (medians): sent/s: the sender's rate; rx: frames the workers "
          "received (with the path off the flood is counted only there: lwIP's ip4_input frees "
          "frames not for us); exc_ip: given to the kernel path; over rate: exc_drop_rate; "
          f"{EXC_IFACE}: written to it (to_kernel_pkts); bound: the rate's burst + rate x the "
          "seconds until written; refused: to_kernel_drop + exc_drop_full; tap drop: mps0's "
          "TX drops; primary ms: its CPU time in the window (softirq work charged to its "
          "threads included)")
    print(f"{'wrk':>3} {'mode':24} {'sent/s':>6} {'rx':>7} {'exc_ip':>7} {'over rate':>9} "
          f"{EXC_IFACE:>7} {'bound':>7} {'refused':>7} {'tap drop':>8} {'primary ms':>10}")
    for r in rows:
        if not r["flood"]:
            continue
        print(f"{r['workers']:>3} {'flood, exception ' + r['exception']:24} "
              f"{fmt(r.get('flood_pps')):>6} {fmt(r['rx_pkts']):>7} {fmt(r['exc_ip']):>7} "
              f"{fmt(r['exc_drop_rate']):>9} {fmt(r['to_kernel_pkts']):>7} "
              f"{fmt(r.get('rate_bound')):>7} {fmt(r['to_kernel_drop'] + r['exc_drop_full']):>7} "
              f"{fmt(r['tap_dropped']):>8} {fmt(r['primary_cpu_ms']):>10}")
    errors = {r["wrk_errors"] for run in rows for r in run["runs"]} - {"none"}
    if errors:
        print(f"  wrk errors: {'; '.join(sorted(errors))}")


def report(results):
    m = results["machine"]
    print(f"\nmachine: {m['cpus']} x {m['cpu']}, Linux {m['kernel']}, DPDK {m['dpdk']}, "
          f"{m['date']}; BENCH_RUNS={RUNS} BENCH_DURATION={DURATION}; "
          "req/s as median [min-max] over the passes")
    kern = {(r["workers"], r["conns"]): r for r in results["http"] if r["stack"] == "kernel"}
    print(f"\nHTTP GET, 64-byte body, keep-alive, wrk {DURATION}s per point "
          f"(kernel = nginx-light over veth, as many worker processes as mpstack workers)")
    print(f"{'stack':8} {'wrk':>3} {'idle':>7} {'conns':>5} {'req/s median [range]':>26} "
          f"{'p50us':>7} {'p99us':>7} {'x kern':>6} {'cyc/req':>8} {'pkt/it':>6}")
    for r in results["http"]:
        k = kern.get((r["workers"], r["conns"]), {}).get("rps")
        ratio = r["rps"] / k if k else 0
        r["ratio_vs_kernel"] = round(ratio, 2)
        print(f"{r['stack']:8} {r['workers']:>3} {r['idle']:>7} {r['conns']:>5} "
              f"{spread(r):>26} {fmt(r['p50_us']):>7} {fmt(r['p99_us']):>7} "
              f"{ratio:>6.2f} {fmt(r.get('cycles_per_req')):>8} "
              f"{fmt(r.get('pkts_per_iter'), '{:.1f}'):>6}")
    print(f"\n1-byte echo ping-pong on one connection (us, medians): {PINGS} round trips "
          f"back to back; 'paced': {PACED_PINGS}, {PACED_GAP_US} us apart (the server idles "
          "in between)")
    print(f"{'server':18} {'p50':>7} {'p99':>7} {'p99.9':>7}")
    for k, v in results["pingpong"].items():
        print(f"{k:18} {v['p50_us']:>7.1f} {v['p99_us']:>7.1f} {v['p999_us']:>7.1f}")
    print(f"\niperf 2 client -> server, {DURATION}s (Gbit/s, median [range])")
    for k, v in results["iperf"].items():
        print(f"{k:18} {spread(v, 'gbps', '{:.3f}'):>24}")
    print(f"\nDPDK-to-DPDK over net_memif: generator mpstack --connect load*{MEMIF_CONNS}"
          f" per worker -> mpstack echo, 64-byte request/response, {DURATION}s; the server "
          "spins; the generator too with 1 worker a side (a CPU each), else it backs off")
    print(f"{'server workers':>14} {'conns':>6} {'gen idle':>8} {'req/s median [range]':>26} "
          f"{'srv cyc/req':>11} {'srv ns/req':>10} {'srv pkt/it':>10}")
    for r in results.get("memif", []):
        print(f"{r['workers']:>14} {r['conns']:>6} {r['gen_idle']:>8} "
              f"{spread(r):>26} {fmt(r['server_busy_cycles_per_req']):>11} "
              f"{fmt(r.get('server_cpu_ns_per_req')):>10} "
              f"{fmt(r.get('server_pkts_per_busy_iteration'), '{:.1f}'):>10}")
    one = next((r for r in results.get("memif", []) if r["workers"] == 1), None)
    kern = results.get("pair", {}).get("kernel")
    if one and kern:
        print(f"\nBoth ends on one stack: 64-byte closed-loop echo, {MEMIF_CONNS} connections, {DURATION}s; "
              "server CPU time per request from schedstat")
        print(f"{'pair':34} {'req/s median [range]':>26} {'x kern':>6} {'srv ns/req':>10}")
        print(f"{'kernel <-> kernel (veth, epoll)':34} {spread(kern):>26} {1:>6.2f} "
              f"{fmt(kern['server_cpu_ns_per_req']):>10}")
        print(f"{'mpstack <-> mpstack (memif, 1+1)':34} {spread(one):>26} "
              f"{one['rps'] / kern['rps']:>6.2f} {fmt(one.get('server_cpu_ns_per_req')):>10}")
    if results.get("wide"):
        print(f"\nMany workers per side over net_memif (one queue pair per worker): generator "
              f"-> echo, 64-byte request/response, {WIDE_CONNS} connections in all, "
              f"--idle backoff both sides, {DURATION}s; the server's CPU time per request "
              "from schedstat (on 2 CPUs the workers time-share: busy cycles would count "
              "preemption)")
        print(f"{'workers per side':>16} {'conns':>6} {'req/s median [range]':>26} "
              f"{'srv ns/req':>10} {'srv cyc/req':>11} {'runq wait ns/req':>16} "
              f"{'switches/1k req':>15} {'idle CPU ms/s/worker':>20}")
        for r in results["wide"]:
            print(f"{r['workers']:>16} {r['conns']:>6} {spread(r):>26} "
                  f"{fmt(r.get('server_cpu_ns_per_req')):>10} "
                  f"{fmt(r['server_busy_cycles_per_req']):>11} "
                  f"{fmt(r.get('server_runq_wait_ns_per_req')):>16} "
                  f"{fmt(r.get('server_switches_per_1k_req'), '{:.1f}'):>15} "
                  f"{fmt(r.get('idle_cpu_ms_per_s_per_worker'), '{:.1f}'):>20}")
    if results.get("bulk"):
        print(f"\nBulk transfer, {DURATION}s: kernel <-> kernel = iperf 2 -P <workers> over veth; "
              f"mpstack <-> mpstack = --connect bulk*{BULK_CONNS} per worker -> discard over "
              "memif; TCP payload Gbit/s, busy TSC cycles per payload byte (sender, receiver)")
        print(f"{'pair':8} {'wrk':>3} {'MTU':>5} {'conns':>5} {'Gbit/s median [range]':>24} "
              f"{'/worker':>7} {'x kern':>6} {'frame B':>7} {'snd c/B':>7} {'rcv c/B':>7}")
        kern = {(r["workers"], r["mtu"]): r.get("gbps") for r in results["bulk"]
                if r["pair"] == "kernel"}
        for r in results["bulk"]:
            k = kern.get((r["workers"], r["mtu"]))
            ratio = r["gbps"] / k if k and r.get("gbps") is not None else None
            r["ratio_vs_kernel"] = None if ratio is None else round(ratio, 2)
            print(f"{r['pair']:8} {r['workers']:>3} {r['mtu']:>5} {r['conns']:>5} "
                  f"{spread(r, 'gbps', '{:.2f}'):>24} {fmt(r.get('gbps_per_worker'), '{:.2f}'):>7} "
                  f"{fmt(ratio, '{:.2f}'):>6} {fmt(r.get('frame_bytes')):>7} "
                  f"{fmt(r.get('snd_cycles_per_byte'), '{:.2f}'):>7} "
                  f"{fmt(r.get('rcv_cycles_per_byte'), '{:.2f}'):>7}")
            if r.get("rcv_drop_multiseg") or r.get("snd_tx_drops"):
                print(f"  ^ receiver dropped {r['rcv_drop_multiseg']} chained frames; "
                      f"sender dropped {r['snd_tx_drops']} frames")

    r = results.get("replace")
    if r:
        print(f"\nRolling replace (mps-run.sh restart all) of 2 workers under wrk -c32, {ROLL_S}s, "
              "over the tap; requests/s per second from telemetry (medians over the passes)")
        print(f"  before the roll: {fmt(r['rps_before'])} req/s; worst second while rolling: "
              f"{fmt(r['rps_worst_during'])} req/s "
              f"({100 * r['rps_worst_during'] / r['rps_before']:.0f} %); roll took "
              f"{r['seconds_rolling']} s; wrk errors: {r['errors']}; hand-overs (us, last pass): "
              f"{r['handover_us']}")
    rows = results.get("exception")
    if rows:
        exc_report(rows)
    rows = results.get("forged")
    if rows:
        print(f"\nSegments of no connection: {FORGED} TCP ACKs for {FORGED_TUPLES} unknown 4-tuples "
              f"(198.18.0.1:1024-{1023 + FORGED_TUPLES} -> port 7) from a packet socket on mps0 at "
              f"{FORGED_PPS}/s, 1 worker (backoff) holding N idle echo connections from the kernel; "
              "each is answered with a RST. Worker busy TSC cycles per forged frame, median [range]")
        print(f"{'connections':>11} {'cyc/frame median [range]':>26} {'frames in':>9} {'RSTs out':>9}")
        for r in rows:
            rng = f"{fmt(r['cycles_per_frame'])} [{fmt(r.get('cycles_per_frame_min'))}-" \
                  f"{fmt(r.get('cycles_per_frame_max'))}]"
            print(f"{r['conns']:>11} {rng:>26} {fmt(r['rx_pkts']):>9} {fmt(r['tx_pkts']):>9}")
    report_cycles(results.get("cycles"))

    out = BUILD / "bench.json"
    out.write_text(json.dumps(results, indent=1))
    print(f"\nwritten {out}")


def report_cycles(rows):
    """Per workload, the server worker's busy cycles per request by
    category and their share, then what the probes cost."""
    if not rows:
        return
    print(f"\nWhere the cycles go: the server worker's busy cycles per request by category, "
          f"cycles build (make cycles), {DURATION}s per workload (medians)")
    w = max(len(r["workload"]) for r in rows) - 6  # a cyc/req and a % column each
    print(f"{'category':10}" + "".join(f"{r['workload']:>{w + 8}}" for r in rows))
    print(f"{'':10}" + "".join(f"{'cyc/req':>{w}}{'%':>8}" for r in rows))
    for k in rows[0]["categories"]:
        print(f"{k:10}" + "".join(
            f"{r['cyc_' + k]:>{w}.0f}{100 * r['cyc_' + k] / r['busy_per_req_cycles']:>7.1f}%"
            for r in rows))
    print(f"{'busy':10}" + "".join(f"{r['busy_per_req_cycles']:>{w}.0f}{100:>7.1f}%"
                                   for r in rows))
    print("Probe cost, same workload (server busy cycles per request from its slot):")
    for r in rows:
        d = (r["busy_per_req_cycles"] / r["busy_per_req_normal"] - 1) * 100 \
            if r["busy_per_req_normal"] else 0
        print(f"  {r['workload']}: normal build {r['rps_normal']:.0f} req/s, "
              f"{fmt(r['busy_per_req_normal'])} cyc/req; cycles build {r['rps_cycles']:.0f} "
              f"req/s, {r['busy_per_req_cycles']:.0f} cyc/req ({d:+.0f} %); the probes' "
              f"{r['tsc_reads_per_req']:.1f} TSC reads per request at {r['tsc_read_cycles']:.0f} "
              f"cycles each: {r['tsc_reads_per_req'] * r['tsc_read_cycles']:.0f} cyc/req"
              + (f"; {r['unbalanced']} unbalanced iterations (a probe bug)"
                 if r["unbalanced"] else ""))


if __name__ == "__main__":
    main()
