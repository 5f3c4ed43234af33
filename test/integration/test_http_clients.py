"""Real HTTP clients agree with the HTTP app, HTTP/1.0 and 1.1, keep-alive
and close: ApacheBench (with and without -k: HTTP/1.0 with `Connection:
Keep-Alive`), wrk, curl, Python's http.client and a pipelining client."""
import http.client
import re

import pytest

from mps import STACK_IP, scaled

URL = f"http://{STACK_IP}/"


@pytest.mark.parametrize("keepalive", [False, True], ids=["ab", "ab-k"])
def test_ab(stack, keepalive):
    r = stack.exec("ab", *(["-k"] if keepalive else []), "-n", "200", "-c", "4",
                   "-s", str(int(scaled(5))), URL, timeout=scaled(60))
    assert r.returncode == 0, r.stdout[-500:] + r.stderr[-500:]
    assert re.search(r"^Complete requests:\s+200$", r.stdout, re.M), r.stdout
    assert re.search(r"^Failed requests:\s+0$", r.stdout, re.M), r.stdout
    assert "Non-2xx" not in r.stdout
    kept = re.search(r"^Keep-Alive requests:\s+(\d+)$", r.stdout, re.M)  # -k only
    assert int(kept.group(1) if kept else 0) == (200 if keepalive else 0), r.stdout


@pytest.mark.parametrize("close", [False, True], ids=["keepalive", "close"])
def test_wrk(stack, close):
    r = stack.exec("wrk", "-t1", "-c4", "-d1s", "--timeout", f"{scaled(2):g}s",
                   *(["-H", "Connection: close"] if close else []), URL,
                   timeout=scaled(60))
    assert r.returncode == 0, r.stderr
    n = int(re.search(r"(\d+) requests in", r.stdout).group(1))
    assert n > 0, r.stdout
    assert "Socket errors" not in r.stdout and "Non-2xx" not in r.stdout, r.stdout


def _curl(stack, *args):
    r = stack.exec("curl", "-sv", "--max-time", f"{scaled(10):g}", *args,
                   URL, f"{URL}bytes/1000", "-o", "/dev/null", "-o", "/dev/null",
                   "-w", "%{http_code} %{size_download}\n", timeout=scaled(30))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:2] == ["200 19", "200 1000"]
    return r.stderr


@pytest.mark.parametrize("args,reused", [
    ((), True),                                           # HTTP/1.1
    (("-H", "Connection: close"), False),
    (("-0", "-H", "Connection: keep-alive"), True),       # HTTP/1.0
    (("-0",), False),
])
def test_curl(stack, args, reused):
    err = _curl(stack, *args)
    assert ("Re-using existing connection" in err or
            "Reusing existing connection" in err) == reused, err


class _HTTP10(http.client.HTTPConnection):
    _http_vsn = 10
    _http_vsn_str = "HTTP/1.0"


@pytest.mark.parametrize("keepalive", [False, True])
def test_http_client_10(stack, keepalive):
    with stack.netns():
        conn = _HTTP10(STACK_IP, 80, timeout=scaled(10))
        conn.connect()
    socks = set()
    for path, size in (("/", 19), ("/bytes/5000", 5000), ("/", 19)):
        if conn.sock is None:
            with stack.netns():
                conn.connect()
        socks.add(conn.sock.getsockname()[1])  # a new connection, a new port
        conn.request("GET", path, headers={"Connection": "keep-alive"} if keepalive else {})
        r = conn.getresponse()
        assert r.status == 200 and len(r.read()) == size
        assert r.getheader("Connection") == ("keep-alive" if keepalive else "close")
        assert r.will_close != keepalive
    assert len(socks) == (1 if keepalive else 3)
    conn.close()


def _responses(s, heads):
    """Reads one response per entry of heads (True: a HEAD, no body)."""
    out, buf = [], b""
    for head in heads:
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            assert chunk, f"closed after {len(out)} responses"
            buf += chunk
        hdr, buf = buf.split(b"\r\n\r\n", 1)
        lines = hdr.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
        length = 0 if head else int(headers["content-length"])
        while len(buf) < length:
            chunk = s.recv(65536)
            assert chunk
            buf += chunk
        out.append((int(lines[0].split()[1]), headers, buf[:length]))
        buf = buf[length:]
    assert buf == b""
    return out


def test_pipelining_11(stack):
    s = stack.connect(80)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
              b"HEAD /bytes/10 HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /bytes/70000 HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /bytes/7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    resp = _responses(s, [False, True, False, False, False])
    assert [st for st, _, _ in resp] == [200, 200, 404, 200, 200]
    assert resp[1][1]["content-length"] == "10" and resp[1][2] == b""
    assert [len(b) for _, _, b in resp[3:]] == [70000, 7]
    assert [h.get("connection") for _, h, _ in resp] == [None] * 4 + ["close"]
    s.settimeout(scaled(5))
    assert s.recv(100) == b""
    s.close()


def test_pipelining_10_keepalive(stack):
    s = stack.connect(80)
    s.sendall(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n" * 3 +
              b"GET /bytes/5 HTTP/1.0\r\n\r\n")
    resp = _responses(s, [False] * 4)
    assert all(st == 200 for st, _, _ in resp)
    assert [h.get("connection") for _, h, _ in resp] == ["keep-alive"] * 3 + ["close"]
    s.settimeout(scaled(5))
    assert s.recv(100) == b""
    s.close()
