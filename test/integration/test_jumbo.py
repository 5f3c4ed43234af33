"""Jumbo frames. --mtu 9000 sizes the mbufs and lwIP's MSS
(8960), so the kernel, its tap MTU raised, sends the stack 9000-byte
frames. net_tap in DPDK 22.11 refuses an MTU above 1504 (max frame 1522),
so the workers size what they send by the port's MTU: large transfers work
in both directions and nothing is refused by the port.

Between two stacks joined by net_memif (no kernel, no MTU setting of its
own) both ends send jumbo frames: the bulk client's stream arrives in
frames far larger than 1514 bytes, none chained."""
import contextlib
import os
import pathlib
import shutil
import socket
import subprocess
import threading

import pytest

from mps import (BUILD, STACK_IP, TEST_NAME, Stack, scaled, stop_in_order, telemetry,
                 wait_until, workers)

IFACE = "mps0"
SIZE = 2 << 20


@pytest.fixture(scope="module")
def jstack():
    s = Stack(TEST_NAME + "j", workers=2,
              primary_args="--mtu 9000 --listen 7:echo,80:http,9:discard")
    with s.running():
        r = s.exec("ip", "link", "set", IFACE, "mtu", "9000")
        assert r.returncode == 0, r.stderr
        yield s



def test_jumbo_mss_and_large_echo(jstack):
    before = jstack.stats()
    s = jstack.connect(7, timeout=scaled(30))
    assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG) == 8960
    data = bytes(range(256)) * (SIZE // 256)
    got = bytearray()

    def reader():
        while len(got) < SIZE:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            got.extend(chunk)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    s.sendall(data)
    t.join(scaled(60))
    done = not t.is_alive()
    s.close()
    assert done, f"echo incomplete: {len(got)} of {SIZE} bytes back"
    assert bytes(got) == data

    # The kernel sends jumbo frames: far more bytes per frame than 1514.
    # Measured on a one-way upload (discard): on the echo, the kernel's ACKs
    # of the echoed data count too, as many as its ACK timing makes them.
    up0 = jstack.stats()
    u = jstack.connect(9, timeout=scaled(30))
    u.sendall(data)
    u.shutdown(socket.SHUT_WR)
    u.settimeout(scaled(30))
    # The server's FIN answers ours, which came after every data frame:
    # those are counted (a worker counts a frame before handling it).
    assert u.recv(1) == b""
    u.close()
    after = jstack.stats()
    rx_pkts = after["rx_pkts"] - up0["rx_pkts"]
    rx_bytes = after["rx_bytes"] - up0["rx_bytes"]
    assert rx_bytes >= SIZE and rx_bytes / rx_pkts > 3000, (rx_bytes, rx_pkts)
    assert after["rx_drop_multiseg"] == 0
    assert after["tx_drop_toolong"] == before["tx_drop_toolong"]


def test_large_download(jstack):
    r = jstack.exec("curl", "-s", "-m", f"{scaled(30):g}", "-o", "/dev/null", "-w",
                    "%{size_download}", f"http://{STACK_IP}/bytes/{SIZE}")
    assert r.returncode == 0 and int(r.stdout) == SIZE, r.stdout + r.stderr
    st = jstack.stats()
    assert st["tx_drop_toolong"] == 0 and st["workers_running"] == 2
    cfg = jstack.telemetry("/mps/config")
    assert (cfg["mtu"], cfg["tx_mtu"]) == (9000, 1500)  # net_tap refused 9000


@contextlib.contextmanager
def memif_stack(prefix, role, sock, ip, app_args):
    """A primary on a net_memif port (buffers of 10 KiB: a jumbo frame in
    one) and one worker, outside any netns; stopped when the block ends.
    8191 mbufs of 9 KiB are plenty for one worker, and leave hugepages for
    this module's stack, which still runs (the default, 32767, would take
    300 MB per primary)."""
    primary = subprocess.Popen(
        [str(BUILD / "mps-primary"), "--file-prefix", prefix, "--no-pci", "--lcores", "0@0",
         "--vdev", f"net_memif0,role={role},socket={sock},socket-abstract=no,bsize=10240",
         "--log-level=lib.eal:error", "--", "--workers", "1", "--ip", ip, "--mtu", "9000",
         "--mbufs", "8191",
         *app_args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    procs = [primary]
    try:
        out = [primary.stdout.readline()]
        while out[-1] and "ready" not in out[-1]:
            out.append(primary.stdout.readline())
        assert out[-1], f"{role} primary did not start:\n" + "".join(out)
        procs.insert(0, subprocess.Popen(
            [str(BUILD / "mps-secondary"), "--file-prefix", prefix, "--no-pci",
             "--no-telemetry", "--lcores", f"1@{1 % os.cpu_count()}",
             "--log-level=lib.eal:error", "--", "--worker", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        yield
    finally:
        stop_in_order([procs[:1], procs[1:]])  # the worker, then the primary


def test_jumbo_over_memif():
    """mpstack to mpstack over memif at MTU 9000: the bulk client's stream
    arrives in jumbo frames (the port has no MTU setting: --mtu is what the
    workers send), none chained, none dropped as too long."""
    base = TEST_NAME + "memif"
    sock_dir = pathlib.Path("/run/mpstack") / base
    sock_dir.mkdir(parents=True, exist_ok=True)
    sock = str(sock_dir / "memif.sock")
    try:
        with memif_stack(base + "1", "server", sock, "198.18.2.2/24",
                         ["--listen", "9:discard"]), \
             memif_stack(base + "2", "client", sock, "198.18.2.1/24",
                         ["--listen", "7:echo", "--connect", "198.18.2.2:9:bulk*2"]):
            def received():
                return workers(base + "1")["0"]
            wait_until(lambda: received()["rx_bytes"] >= 64 << 20, 60,
                       "64 MiB streamed by the bulk clients")
            rcv, snd = received(), workers(base + "2")["0"]
            cfg = telemetry(base + "2", "/mps/config")
    finally:
        shutil.rmtree(sock_dir, ignore_errors=True)
    assert (cfg["mtu"], cfg["tx_mtu"]) == (9000, 9000)
    assert snd["tcp_connect_ok"] == 2
    assert rcv["rx_bytes"] / rcv["rx_pkts"] > 3000, (rcv["rx_bytes"], rcv["rx_pkts"])
    assert rcv["rx_drop_multiseg"] == 0 and snd["tx_drop_toolong"] == 0
    # Both primaries removed their hugepage files on the way out.
    assert not [f for f in os.listdir("/dev/hugepages")
                if f.startswith((base + "1map_", base + "2map_"))]
