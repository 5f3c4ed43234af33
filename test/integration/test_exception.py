"""The kernel exception path (--exception IFACE): what the stack does not
serve reaches a kernel interface, and what the kernel sends there leaves
through the port. One stack of its own (primary + 2 workers over the tap);
the test moves IFACE into a namespace of its own with 198.18.0.3/24, as a
host would keep it, so the wire side (the stack's namespace, mps0) reaches
two hosts behind one MAC: mpstack on 198.18.0.2 and the kernel on .3."""
import os
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from mps import (PEER_IP, STACK_IP, TEST_NAME, Sniffer, Stack, ask, http_once, netns, scaled,
                 wait_until)

IFACE = "mpsk0"
KERNEL_IP = "198.18.0.3"
RATE = 500                 # --exception-rate of the stack under test
BURST = RATE * 100 // 1000 + 1  # MPS_EXC_BURST_MS of it, + the first frame
FLOOD = 20000              # the 100 k, scaled down to stay short
KPORT = 8080
KBODY = b"hello from the kernel\n"


class KernelNs:
    """The namespace IFACE is moved to (Sniffer takes anything with a
    netns())."""

    def __init__(self, name):
        self.ns = name

    def netns(self):
        return netns(self.ns)

    def exec(self, *cmd, check=False, timeout=30):
        return subprocess.run(["ip", "netns", "exec", self.ns, *cmd], capture_output=True,
                              text=True, timeout=timeout, check=check)


@pytest.fixture(scope="module")
def xstack():
    s = Stack(TEST_NAME + "x", workers=2,
              primary_args=f"--exception {IFACE} --exception-rate {RATE}")
    k = KernelNs(TEST_NAME + "k")
    subprocess.run(["ip", "netns", "del", k.ns], capture_output=True)
    s.stop()
    server = None
    www = tempfile.TemporaryDirectory()
    try:
        s.start()
        subprocess.run(["ip", "netns", "add", k.ns], check=True)
        s.exec("ip", "link", "set", IFACE, "netns", k.ns, check=True)
        k.exec("ip", "link", "set", "lo", "up", check=True)
        k.exec("ip", "addr", "add", f"{KERNEL_IP}/24", "dev", IFACE, check=True)
        k.exec("ip", "link", "set", IFACE, "up", check=True)
        with open(os.path.join(www.name, "kernel.txt"), "wb") as f:
            f.write(KBODY)
        server = subprocess.Popen(["ip", "netns", "exec", k.ns, "/usr/bin/python3", "-m",
                                   "http.server", str(KPORT), "--bind", KERNEL_IP,
                                   "--directory", www.name],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        s.kns = k
        yield s
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        s.stop()
        subprocess.run(["ip", "netns", "del", k.ns], capture_output=True)
        www.cleanup()


def exc(stack):
    return stack.telemetry("/mps/exception")


def kernel_get(stack, path="/kernel.txt", timeout=5):
    """One HTTP GET to the kernel's server on 198.18.0.3, from the wire."""
    with stack.netns():
        s = socket.create_connection((KERNEL_IP, KPORT), timeout=scaled(timeout))
    return ask(s, b"GET %s HTTP/1.0\r\nHost: k\r\n\r\n" % path.encode())


def kernel_server_up(stack):
    try:
        return kernel_get(stack, timeout=2).endswith(KBODY)
    except OSError:
        return False


def test_kernel_and_stack_side_by_side(xstack):
    """ping and HTTP reach the kernel on .3, HTTP to .2 is still mpstack's."""
    r = xstack.exec("ping", "-c", "3", "-i", "0.2", "-W", "5", KERNEL_IP)
    assert r.returncode == 0, r.stdout + r.stderr
    wait_until(lambda: kernel_server_up(xstack), 10, "the kernel's HTTP server on .3")
    reply = kernel_get(xstack)
    assert reply.startswith(b"HTTP/1.0 200") and reply.endswith(KBODY), reply[:200]
    assert b"Hello from mpstack" in http_once(xstack)
    e = exc(xstack)
    assert e["iface"] == IFACE and e["rate"] == RATE
    assert e["to_kernel_pkts"] > 0 and e["from_kernel_pkts"] > 0
    assert e["exc_ip"] > 0 and e["exc_tx"] > 0


def test_stack_frames_never_reach_the_kernel(xstack):
    """Frames for 198.18.0.2 are never on IFACE: sniffed there while HTTP
    and ping go to .2, then a ping to .3 (the positive control) is seen."""
    def is_ours(p):
        from scapy.all import ARP, IP
        return (IP in p and STACK_IP in (p[IP].dst, p[IP].src)) or \
            (ARP in p and p[ARP].pdst == STACK_IP)

    def control(p):
        from scapy.all import ICMP, IP
        return IP in p and p[IP].dst == KERNEL_IP and ICMP in p and p[ICMP].type == 8

    with Sniffer(xstack.kns, iface=IFACE) as sn:
        for _ in range(5):
            assert b"Hello from mpstack" in http_once(xstack)
        r = xstack.exec("ping", "-c", "3", "-i", "0.2", "-W", "5", STACK_IP)
        assert r.returncode == 0, r.stdout + r.stderr
        r = xstack.exec("ping", "-c", "3", "-i", "0.2", "-W", "5", KERNEL_IP)
        assert r.returncode == 0, r.stdout + r.stderr
        sn.wait(control, 10, "the control pings to .3 on IFACE", count=3)
        leaked = sn.frames(is_ours)
    assert leaked == [], [p.summary() for p in leaked[:5]]


def test_ipv6_link_local_ping(xstack):
    """An IPv6 ping from the wire to IFACE's link-local address. On net_tap
    mps0 carries the stack's MAC too, so its link-local address is made
    random (it would be IFACE's, and DAD would fail)."""
    xstack.exec("sysctl", "-qw", "net.ipv6.conf.mps0.addr_gen_mode=3", check=True)
    xstack.exec("sysctl", "-qw", "net.ipv6.conf.mps0.disable_ipv6=0", check=True)

    def link_local(run, dev):
        out = run("ip", "-6", "-o", "addr", "show", "dev", dev, "scope", "link").stdout
        if "fe80::" not in out or "tentative" in out:
            return None
        return out.split("inet6 ")[1].split("/")[0]
    try:
        addr = wait_until(lambda: link_local(xstack.kns.exec, IFACE), 10,
                          "IFACE's link-local address (DAD done)")
        wait_until(lambda: link_local(xstack.exec, "mps0"), 10,
                   "mps0's link-local address (DAD done)")
        r = xstack.exec("ping", "-6", "-c", "3", "-i", "0.2", "-W", "5", f"{addr}%mps0")
        assert r.returncode == 0, r.stdout + r.stderr
        assert exc(xstack)["exc_ethertype"] > 0
    finally:
        xstack.exec("sysctl", "-qw", "net.ipv6.conf.mps0.disable_ipv6=1")


def test_vlan_frames_reach_the_kernel_tagged(xstack):
    """Without --vlan, a tagged frame (VLAN 100) is the kernel's: it reaches
    IFACE with its tag, as it was on the wire."""
    from scapy.all import ICMP, IP, Dot1Q, Ether, get_if_hwaddr, sendp
    mac = xstack.learn_stack_mac()
    before = exc(xstack)["exc_vlan"]

    def tagged(p):
        return Dot1Q in p and p[Dot1Q].vlan == 100 and ICMP in p and \
            p[IP].dst == "198.18.100.3"
    with Sniffer(xstack.kns, iface=IFACE) as sn:
        with xstack.netns():
            sendp(Ether(dst=mac, src=get_if_hwaddr("mps0")) / Dot1Q(vlan=100) / IP(src="198.18.100.1", dst="198.18.100.3") /
                  ICMP(), iface="mps0", verbose=False)
        sn.wait(tagged, 10, "the VLAN 100 frame on IFACE, tagged")
    assert exc(xstack)["exc_vlan"] > before


def test_flood_limited_to_exception_rate(xstack):
    """FLOOD UDP frames to another address, to our MAC, as fast as a packet
    socket sends them: what IFACE receives stays within --exception-rate
    (its burst, then RATE a second), the rest is counted as dropped."""
    from scapy.all import IP, UDP, Ether, get_if_hwaddr
    mac = xstack.learn_stack_mac()

    def flood_frame(p):
        return IP in p and p[IP].dst == "198.18.0.77"

    with xstack.netns():
        src = get_if_hwaddr("mps0")
    frame = bytes(Ether(dst=mac, src=src) / IP(src=PEER_IP, dst="198.18.0.77") /
                  UDP(sport=4444, dport=9) / (b"x" * 18))
    # inbound: what the primary writes to IFACE, not what the kernel sends
    with Sniffer(xstack.kns, iface=IFACE, filter="inbound") as sn:
        before = exc(xstack)  # once the sniffer captures: it sees what follows
        t0 = time.monotonic()
        with xstack.netns():
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        try:
            s.bind(("mps0", 0))
            for _ in range(FLOOD):
                s.send(frame)
        finally:
            s.close()
        xstack.settle()

        def caught_up():  # every frame the workers handed is written (or refused)
            e = exc(xstack)
            handed = sum(e[k] for k in ("exc_ip", "exc_arp", "exc_arp_copy",
                                        "exc_ethertype", "exc_vlan")) - \
                e["exc_drop_rate"] - e["exc_drop_full"]
            return e if e["to_kernel_pkts"] + e["to_kernel_drop"] >= handed else None
        after = wait_until(caught_up, 10, "the primary to write what the workers handed")
        t1 = time.monotonic()
        written = after["to_kernel_pkts"] - before["to_kernel_pkts"]
        sn.wait(None, 10, f"the {written} frames written to IFACE", count=written)
        seen = len(sn.frames(flood_frame))
    dropped = after["exc_drop_rate"] - before["exc_drop_rate"]
    bound = BURST + RATE * (t1 - t0)
    print(f"\nflood: {FLOOD} sent, {after['exc_ip'] - before['exc_ip']} reached the workers, "
          f"{seen} on IFACE in {t1 - t0:.2f}s (bound {bound:.0f}), {dropped} over the rate")
    assert 0 < seen <= bound
    assert dropped > 0


def ping_through(xstack, count, what, fault):
    """A 100 ms ping to the kernel (count of them) while fault(worker id)
    hits the worker sending the kernel's replies; at most 2 are lost.
    Returns that worker's id."""
    tx0 = {w: v["exc_tx"] for w, v in xstack.workers_info().items()}
    ping = subprocess.Popen(["ip", "netns", "exec", xstack.ns, "ping", "-n", "-i", "0.1",
                             "-c", str(count), "-W", "3", KERNEL_IP],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        busy = wait_until(lambda: next((w for w, v in xstack.workers_info().items()
                                        if v["exc_tx"] >= tx0[w] + 5), None),
                          10, "a worker sending the kernel's replies")
        fault(busy)
        out, _ = ping.communicate(timeout=scaled(30))
    finally:
        if ping.poll() is None:
            ping.kill()
            ping.wait()
    line = next(ln for ln in out.splitlines() if "received" in ln)
    received = int(line.split(",")[1].split()[0])
    print(f"\n{what} worker {busy} under a 100 ms ping to the kernel: {line}")
    assert count - received <= 2, out
    return busy


def test_worker_replaced_under_kernel_ping(xstack):
    """--replace the worker that carries a 100 ms ping to the kernel: the
    successor takes the slot's rings (reset for it), the draining
    predecessor leaves them alone, at most 2 pings are lost."""
    resets = exc(xstack)["ring_resets"]
    ping_through(xstack, 30, "replaced", lambda w: xstack.script("restart", w))
    assert exc(xstack)["ring_resets"] > resets
    r = xstack.exec("ping", "-c", "5", "-i", "0.2", "-W", "5", KERNEL_IP)
    assert r.returncode == 0, r.stdout + r.stderr


def test_worker_killed_under_kernel_ping(xstack):
    """SIGKILL the worker that carries a 100 ms ping to the kernel: at most
    2 pings are lost; the restarted worker's rings are reset and the path
    works through it again."""
    resets = exc(xstack)["ring_resets"]
    busy = ping_through(xstack, 40, "killed",
                        lambda w: os.kill(xstack.pid(f"worker-{w}"), signal.SIGKILL))

    # the slot's next owner gets fresh rings, and the path serves again
    xstack.start_worker(int(busy))
    wait_until(lambda: exc(xstack)["ring_resets"] > resets, 10,
               "the primary to reset the restarted worker's rings")
    wait_until(lambda: xstack.workers_info()[busy]["state"] == "running", 10,
               f"worker {busy} running again")
    r = xstack.exec("ping", "-c", "5", "-i", "0.2", "-W", "5", KERNEL_IP)
    assert r.returncode == 0, r.stdout + r.stderr


def test_exception_in_proc_info_metrics(xstack):
    """The path's counters are in dpdk-proc-info --metrics."""
    r = subprocess.run(["dpdk-proc-info", "--file-prefix", xstack.prefix, "--no-pci", "--log-level=lib.eal:error", "--",
                        "--metrics"], capture_output=True, text=True, timeout=60)
    assert "mps_exc_to_kernel_pkts" in r.stdout and "mps_exc_ip" in r.stdout, \
        r.stdout[-2000:] + r.stderr[-2000:]


def test_primary_removes_iface_on_exit(xstack):
    """The primary's exit removes IFACE, in the namespace it was moved to."""
    assert xstack.kns.exec("ip", "link", "show", IFACE).returncode == 0
    xstack.stop()
    wait_until(lambda: xstack.kns.exec("ip", "link", "show", IFACE).returncode != 0, 10,
               f"{IFACE} gone from {xstack.kns.ns}")
