"""Several ports. Two taps (mps0, mps1) as a bonded pair: every
worker polls its queue on both, and everything leaves on the first. A host
that only talks on mps1 is answered (ICMP and TCP) through mps0; the
kernel's own traffic on mps0 still works. A worker that starts announces
the address by gratuitous ARP."""
import os
import signal

import pytest
from scapy.all import ARP, ICMP, IP, TCP, Ether, conf, sendp

from mps import STACK_IP, TEST_NAME, Sniffer, Stack, wait_until

conf.verb = 0
HOST_IP, HOST_MAC = "198.18.0.80", "02:00:5e:00:01:50"


@pytest.fixture(scope="module")
def pstack():
    s = Stack(TEST_NAME + "p", workers=2,
              eal_args="--vdev net_tap1,iface=mps1")
    with s.running():
        r = s.exec("ip", "link", "set", "mps1", "up")
        assert r.returncode == 0, r.stderr
        r = s.exec("ping", "-c", "1", "-W", "5", STACK_IP)
        assert r.returncode == 0, r.stdout + r.stderr
        out = s.exec("ip", "neigh", "show", STACK_IP, "dev", "mps0").stdout.split()
        s.mac = out[out.index("lladdr") + 1]
        yield s


def test_two_ports_configured(pstack):
    cfg = pstack.telemetry("/mps/config")
    assert cfg["ports"] == 2


def test_rx_on_second_port_answered_on_first(pstack):
    flt = f"ether dst {HOST_MAC}"
    base = Ether(src=HOST_MAC, dst=pstack.mac) / IP(src=HOST_IP, dst=STACK_IP)
    with Sniffer(pstack, flt, "mps0") as sn0, Sniffer(pstack, flt, "mps1") as sn1:
        with pstack.netns():
            sendp(base / ICMP(id=9), iface="mps1")
        sn0.wait(lambda p: ICMP in p, 10, "ping on mps1 answered on mps0")
        with pstack.netns():
            sendp([base / TCP(sport=p, dport=80, flags="S", seq=1)
                   for p in range(43000, 43016)], iface="mps1")
        try:
            wait_until(lambda: len({p[TCP].dport for p in sn0.frames(
                lambda p: TCP in p and p[TCP].flags == "SA")}) == 16,
                10, "SYN-ACKs on mps0")
        finally:
            with pstack.netns():
                sendp([base / TCP(sport=p, dport=80, flags="R", seq=2)
                       for p in range(43000, 43016)], iface="mps1")
    assert sn1.frames() == []
    info = pstack.workers_info()
    # Only mps1 carried the SYNs; the kernel spreads 16 flows over both of
    # its queues, so both workers polled the second port.
    assert all(w["rx_pkts"] > 0 for w in info.values())
    r = pstack.exec("curl", "-s", "-m", "10", f"http://{STACK_IP}/")
    assert r.returncode == 0 and "mpstack" in r.stdout


def test_gratuitous_arp_when_a_worker_starts(pstack):
    """lwIP announces the address (gratuitous ARP, on the first port) when
    a worker brings its netif up; there is no runtime address change."""
    with Sniffer(pstack, "arp", "mps0") as sn:
        victim = pstack.pid("worker-1")
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: pstack.workers_info()["1"]["state"] == "dead", 10,
                   "worker 1 marked dead")
        pstack.start_worker(1)
        sn.wait(lambda p: p[ARP].psrc == STACK_IP and p[ARP].pdst == STACK_IP, 10,
                "gratuitous ARP")
