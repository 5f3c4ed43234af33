"""Jumbo frames. --mtu 9000 sizes the mbufs and lwIP's MSS
(8960), so the kernel, its tap MTU raised, sends the stack 9000-byte
frames. net_tap in DPDK 22.11 refuses an MTU above 1504 (max frame 1522),
so the workers size what they send by the port's MTU: large transfers work
in both directions and nothing is refused by the port."""
import socket
import threading

import pytest

from mps import STACK_IP, TEST_NAME, Stack, scaled

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
