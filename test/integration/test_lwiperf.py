"""lwiperf (the iperf app) must survive connections that end
badly. lwIP frees a pcb before it calls the error callback; unpatched
lwiperf closed it again, a double free that corrupts lwIP's pcb pool
(secondary/lwip/patches/lwiperf-err-double-free.patch)."""
import signal
import subprocess

from mps import BUILD, REPO, STACK_IP, echo_once, pid_alive, scaled, wait_until


def test_lwiperf_abort_frees_pcb_once():
    """C-level: lwIP aborts the connection lwiperf serves; tcp_new() must
    then hand out distinct pcbs (unpatched: the same one twice)."""
    subprocess.run(["make", "-s", "-C", str(REPO), "build/lwiperf-check"],
                   check=True, capture_output=True, timeout=300)
    r = subprocess.run([str(BUILD / "lwiperf-check")], capture_output=True,
                       text=True, timeout=scaled(30))
    assert r.returncode == 0, r.stdout + r.stderr


def _iperf(stack, seconds=1):
    r = stack.exec("iperf", "-c", STACK_IP, "-p", "5001", "-t", str(seconds),
                   "-f", "m", "-y", "C", timeout=scaled(60))
    assert r.returncode == 0, r.stderr
    rows = [l.split(",") for l in r.stdout.strip().splitlines() if l.count(",") >= 8]
    assert rows and int(rows[-1][7]) > 0, r.stdout + r.stderr


def _rx_bytes(stack):
    return sum(w["rx_bytes"] for w in stack.workers_info().values())


def test_iperf_client_killed_mid_transfer(stack):
    before = {w: i["pid"] for w, i in stack.workers_info().items()}
    for _ in range(3):
        rx0 = _rx_bytes(stack)
        p = subprocess.Popen(["ip", "netns", "exec", stack.ns, "iperf", "-c", STACK_IP,
                              "-p", "5001", "-t", "30"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: _rx_bytes(stack) > rx0 + (4 << 20), 30,
                       "iperf to move 4 MiB")
        finally:
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=scaled(10))
        # lwiperf serves one client at a time: the next run proves the
        # killed one was let go, the echoes that the pcb pool is sound.
        _iperf(stack)
        for _ in range(5):
            assert echo_once(stack)
    info = stack.workers_info()
    for w, pid in before.items():
        assert info[w]["pid"] == pid and pid_alive(pid), f"worker {w} restarted or died"
        assert info[w]["state"] == "running", info[w]
