"""mps-capture: a pcapng of an echo exchange spread over 2 workers holds both
directions of every connection, from both workers (queue = worker), readable
by tshark and scapy; --count, the mirror switched off afterwards; and
dpdk-dumpcap attaches to the primary (rte_pdump_init)."""
import os
import shutil
import subprocess
import tempfile

import pytest

from mps import (BUILD, STACK_IP, echo_error, scaled, start_capture, stop_capture,
                 wait_until)

ECHO = 7


def echo(stack, payload):
    """One echo exchange; its local port."""
    err = echo_error(stack, payload)
    assert err is None, err
    return stack.last_port


def captured(stack):
    """capture_pkts over the workers, once every worker finished two more
    loop iterations: a copy a worker was making when the mirror went off is
    counted by then."""
    stack.settle()
    return sum(stack.counters("capture_pkts"))


def accepted(stack):
    return {k: v["tcp_accepted"] for k, v in stack.workers_info().items()}


def tshark_rows(path):
    r = subprocess.run(["tshark", "-r", path, "-T", "fields", "-E", "separator=,",
                        "-e", "frame.packet_flags_direction", "-e", "frame.interface_queue",
                        "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tcp.len"],
                       capture_output=True, text=True, timeout=scaled(60))
    assert r.returncode == 0, r.stderr
    rows = []
    for line in r.stdout.splitlines():
        d, q, sp, dp, ln = (line.split(",") + [""] * 5)[:5]
        if sp:
            rows.append((int(d, 16), int(q or 0), int(sp), int(dp), int(ln or 0)))
    return rows


@pytest.fixture
def tmpdir_():
    d = tempfile.mkdtemp(prefix="mpso-cap-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark missing: make deps")
def test_capture_echo_both_workers_both_directions(stack, tmpdir_):
    path = os.path.join(tmpdir_, "echo.pcapng")
    before = accepted(stack)
    cap = start_capture(stack, path, "--duration", "120")
    ports = []
    try:
        # Connections until both workers accepted some (the tap spreads flows).
        def both():
            ports.append(echo(stack, b"mpstack %d" % len(ports)))
            now = accepted(stack)
            return len(ports) >= 4 and all(now[k] > before.get(k, 0) for k in now)
        wait_until(both, 60, "echo connections on both workers", interval=0)
    finally:
        out, err = stop_capture(cap)
    assert cap.returncode == 0, err
    assert "packets written" in err

    rows = tshark_rows(path)
    queues = set()
    for port in ports:
        inn = [r for r in rows if r[0] == 1 and r[2] == port and r[3] == ECHO]
        out_ = [r for r in rows if r[0] == 2 and r[2] == ECHO and r[3] == port]
        assert inn and out_, f"connection from port {port}: in {len(inn)} out {len(out_)}"
        assert any(r[4] > 0 for r in inn) and any(r[4] > 0 for r in out_), \
            f"payload both ways on port {port}"
        q = {r[1] for r in inn + out_}
        assert len(q) == 1, f"one worker per connection, got queues {q}"
        queues |= q
    assert queues == {0, 1}, queues

    # scapy reads the same file.
    from scapy.utils import PcapNgReader
    with PcapNgReader(path) as rd:
        assert sum(1 for _ in rd) == len(subprocess.run(
            ["tshark", "-r", path], capture_output=True, text=True,
            timeout=scaled(60)).stdout.splitlines())


def test_capture_count_and_mirror_off(stack, tmpdir_):
    path = os.path.join(tmpdir_, "five.pcapng")
    cap = start_capture(stack, path, "--count", "5", "--duration", "60")
    wait_until(lambda: stack.exec("ping", "-c", "1", "-W", "1", STACK_IP).returncode == 0
               and cap.poll() is not None, 60, "5 packets captured", interval=0)
    out, err = cap.communicate(timeout=scaled(30))
    assert cap.returncode == 0 and "5 packets written" in err, err
    from scapy.utils import PcapNgReader
    with PcapNgReader(path) as rd:
        assert sum(1 for _ in rd) == 5
    # The mirror is off: no more copies after more traffic (a worker copies
    # a frame before it answers it, so the replies bound the wait).
    n0 = captured(stack)
    assert stack.exec("ping", "-c", "3", "-i", "0.2", STACK_IP).returncode == 0
    assert sum(stack.counters("capture_pkts")) == n0


def test_capture_refuses_second_and_bad_args(stack, tmpdir_):
    cap = start_capture(stack, os.path.join(tmpdir_, "a.pcapng"), "--duration", "60")
    try:
        r = stack.exec(str(BUILD / "mps-capture"), "--file-prefix", stack.prefix, "--no-pci",
                       "--lcores", "126@0", "--log-level=lib.eal:error", "--",
                       "-w", os.path.join(tmpdir_, "b.pcapng"))
        assert r.returncode != 0 and "another capture" in r.stderr
    finally:
        stop_capture(cap)
    assert cap.returncode == 0
    r = stack.exec(str(BUILD / "mps-capture"), "--file-prefix", stack.prefix, "--no-pci",
                   "--log-level=lib.eal:error", "--", "-w", "/dev/null", "--worker", "9")
    assert r.returncode != 0 and "out of range" in r.stderr


def test_dpdk_dumpcap_attaches(stack, tmpdir_):
    """rte_pdump_init in the primary: dpdk-dumpcap attaches and stops cleanly
    (it sees only the primary's own packets, none of the workers')."""
    path = os.path.join(tmpdir_, "dumpcap.pcapng")
    r = subprocess.run(["dpdk-dumpcap", "--file-prefix", stack.prefix, "-a", "duration:1",
                        "-w", path], capture_output=True, text=True, timeout=scaled(60))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Packets received/dropped on interface" in r.stdout + r.stderr


def ping_captured(stack, path, *args):
    """Captures a big ping both ways; the captured frames' lengths."""
    cap = start_capture(stack, path, "--duration", "60", *args)
    try:
        wait_until(lambda: stack.exec("ping", "-c", "1", "-s", "1000", "-W", "1",
                                      STACK_IP).returncode == 0, 60, "a ping answered")
    finally:
        out, err = stop_capture(cap)
    assert cap.returncode == 0, err
    from scapy.utils import PcapNgReader
    with PcapNgReader(path) as rd:
        return [len(p) for p in rd]


def test_capture_snaplen_applies_to_one_capture_only(stack, tmpdir_):
    """-s truncates that capture's frames; the next capture without -s gets
    whole frames again (-s is not left behind in the shared memory)."""
    lens = ping_captured(stack, os.path.join(tmpdir_, "s.pcapng"), "-s", "96")
    assert lens and max(lens) <= 96, lens
    lens = ping_captured(stack, os.path.join(tmpdir_, "full.pcapng"))
    assert len([n for n in lens if n > 1000]) >= 2, lens


def test_dead_capture_cleaned_up_then_new_capture(stack, tmpdir_):
    """A SIGKILLed capture leaves the mirror on: the primary switches it off
    and empties the ring (holding the claim meanwhile), and the next
    capture claims the mirror and records."""
    cap = start_capture(stack, os.path.join(tmpdir_, "dead.pcapng"), "--duration", "60")
    cap.kill()
    cap.wait(timeout=scaled(30))
    wait_until(lambda: "capture pid %d died; mirror switched off" % cap.pid
               in stack.log("primary"), 10, "the primary to clean up")
    n0 = captured(stack)
    assert stack.exec("ping", "-c", "2", "-i", "0.2", "-W", f"{scaled(5):g}",
                      STACK_IP).returncode == 0
    assert sum(stack.counters("capture_pkts")) == n0
    lens = ping_captured(stack, os.path.join(tmpdir_, "next.pcapng"))
    assert len([n for n in lens if n > 1000]) >= 2, lens


def test_stop_after_a_capture_waits_for_the_workers_to_leave(tmpdir_):
    """The primary frees shared memory (the capture pool and ring) at stop only once every
    worker process has left EAL: freed while a worker is still attached, EAL
    sends it a memory sync request it no longer answers, and the stop hangs
    on that request's timeout (logged "Could not send sync request")."""
    from mps import TEST_NAME, Stack
    s = Stack(TEST_NAME + "cs", workers=2)
    s.stop()
    s.start()
    try:
        cap = start_capture(s, os.path.join(tmpdir_, "stop.pcapng"))
        echo(s, b"captured before the stop")
        stop_capture(cap)
    finally:
        r = s.stop()
    assert r.returncode == 0, r.stdout + r.stderr
    log = s.log("primary")
    assert "stopping: telling workers to exit" in log, log
    bad = [line for line in log.splitlines()
           if "sync request" in line or "Fail to recv reply" in line]
    assert not bad, bad


def capture_refused(stack, path):
    """mps-capture -w path (bounded: --duration 1): its exit code and stderr."""
    r = stack.exec(str(BUILD / "mps-capture"), "--file-prefix", stack.prefix, "--no-pci",
                   "--log-level=lib.eal:error", "--", "-w", path, "--duration", "1",
                   timeout=scaled(60))
    return r.returncode, r.stderr


def test_capture_refuses_symlink(stack, tmpdir_):
    """mps-capture runs as root: -w onto a symbolic link (one planted where
    the file will be) is refused, and the link's target is left untouched."""
    target = os.path.join(tmpdir_, "precious")
    with open(target, "w") as f:
        f.write("keep me\n")
    link = os.path.join(tmpdir_, "cap.pcapng")
    os.symlink(target, link)
    rc, err = capture_refused(stack, link)
    assert rc != 0 and "symbolic link" in err, err
    with open(target) as f:
        assert f.read() == "keep me\n"
    assert os.path.islink(link)


def test_capture_refuses_another_users_file(stack, tmpdir_):
    """-w onto a file another user owns is refused, the file untouched."""
    path = os.path.join(tmpdir_, "theirs.pcapng")
    with open(path, "w") as f:
        f.write("not yours\n")
    os.chown(path, 65534, 65534)
    rc, err = capture_refused(stack, path)
    assert rc != 0 and "owned by another user" in err, err
    with open(path) as f:
        assert f.read() == "not yours\n"
    assert os.stat(path).st_uid == 65534
