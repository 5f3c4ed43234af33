"""Every error a user can hit gives one clear line and a non-zero exit,
leaves nothing behind and does not disturb a running system."""
import os
import pathlib
import subprocess

import pytest

from mps import (BUILD, TEST_NAME, free_hugepages, hugepages_back_to, hugepages_used_by,
                 wait_until)

NR = pathlib.Path("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages")


def _echo_ok(stack):
    s = stack.connect(7)
    s.sendall(b"still here")
    got = b""
    while len(got) < 10:
        got += s.recv(10)
    s.close()
    return got == b"still here"


def _settle(fetch, ok, timeout, what):
    """Polls fetch() until ok(value); returns the last value either way."""
    last = []

    def good():
        last.append(fetch())
        return ok(last[-1])
    try:
        wait_until(good, timeout, what)
    except AssertionError:
        pass
    return last[-1]


def _no_runtime_dir(prefix):
    return not pathlib.Path(f"/var/run/dpdk/{prefix}").exists()


def test_secondary_without_primary():
    r = subprocess.run([str(BUILD / "mps-secondary"), "--file-prefix", TEST_NAME + "none",
                        "--lcores", "9@0", "--log-level=lib.eal:error", "--"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "no primary running with this --file-prefix" in r.stderr
    assert _no_runtime_dir(TEST_NAME + "none")


def test_worker_out_of_range(stack):
    r = stack.secondary("--worker", "7")
    assert r.returncode != 0
    assert "--worker 7 out of range: the primary has 2 worker slot(s)" in r.stderr
    assert _echo_ok(stack)


def test_slot_held_by_live_worker(stack):
    owner = stack.pid("worker-0")
    r = stack.secondary("--worker", "0")
    assert r.returncode != 0
    assert f"worker slot 0 is held by live pid {owner}" in r.stderr
    # (a worker started just before -- mps-run.sh returns at its "ready"
    # line -- turns RUNNING only after that line: wait for the state)
    info = _settle(stack.workers_info, lambda i: i["0"]["state"] == "running", 5,
                   "worker 0 to be running")
    assert info["0"]["pid"] == owner and info["0"]["state"] == "running", info["0"]
    assert _echo_ok(stack)


def test_no_free_slot(stack):
    r = stack.secondary()
    assert r.returncode != 0
    assert "all 2 worker slots are held by live workers" in r.stderr


def test_lcore_id_collision(stack):
    r = stack.secondary("--worker", "1", lcore=1)
    assert r.returncode != 0
    assert "EAL lcore id 1 is already used by pid" in r.stderr
    assert stack.workers_info()["1"]["pid"] == stack.pid("worker-1")


def test_layout_mismatch(stack):
    r = stack.secondary(binary="layout999/mps-secondary")
    assert r.returncode != 0
    assert "layout mismatch" in r.stderr and "version 999" in r.stderr
    assert _echo_ok(stack)


def test_bad_worker_argument(stack):
    r = stack.secondary("--worker", "abc")
    assert r.returncode != 0 and "invalid --worker abc" in r.stderr


@pytest.mark.parametrize("args,msg", [
    (["--listen", "80:ftp"], "invalid --listen"),
    (["--workers", "0"], "invalid --workers"),
    (["--ip", "198.18.0.300/24"], "invalid --ip"),
    (["--mtu", "100"], "invalid --mtu"),
    (["--gateway", "10.9.9.9"], "not on the --ip subnet"),
    (["--bogus"], "invalid option"),
])
def test_primary_bad_arguments(args, msg):
    r = subprocess.run([str(BUILD / "mps-primary"), "--file-prefix", TEST_NAME + "badarg",
                        "--no-pci", "--no-huge", "-m", "64", "--lcores", "0@0",
                        "--log-level=lib.eal:error", "--", *args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert msg in r.stderr
    assert _no_runtime_dir(TEST_NAME + "badarg")


def _throwaway_netns(name):
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    subprocess.run(["ip", "netns", "add", name], check=True)


def test_too_many_queues_for_tap():
    ns = TEST_NAME + "queues"
    _throwaway_netns(ns)
    # (a global count moves with other suites' stacks: leave theirs out)
    before = hugepages_used_by(ns)
    try:
        r = subprocess.run(["ip", "netns", "exec", ns, str(BUILD / "mps-primary"),
                            "--file-prefix", ns, "--no-pci", "--lcores", "0@0",
                            "--vdev", "net_tap0,iface=mps0", "--log-level=lib.eal:error",
                            "--", "--workers", "5"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode != 0
        assert "supports at most 4 queue pairs in multi-process" in r.stderr
        assert _no_runtime_dir(ns)
        assert not list(pathlib.Path("/dev/hugepages").glob(f"{ns}map_*"))
        assert hugepages_back_to(ns, before) <= before
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_not_root():
    for b in ("mps-primary", "mps-secondary"):
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            str(BUILD / b), "--file-prefix", TEST_NAME + "notroot", "--no-pci"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode != 0
        assert "must run as root" in r.stderr


def test_no_hugepages(stack):
    """With no free 2 MB page the primary refuses before EAL grabs anything.
    Pages in use by the running stack stay theirs (they become surplus)."""
    old = int(NR.read_text())
    try:
        NR.write_text("0")
        assert free_hugepages() == 0
        r = subprocess.run([str(BUILD / "mps-primary"), "--file-prefix", TEST_NAME + "nohuge",
                            "--no-pci", "--lcores", "0@0", "--"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode != 0
        assert "no free hugepages" in r.stderr
        assert _no_runtime_dir(TEST_NAME + "nohuge")
    finally:
        NR.write_text(str(old))
    assert int(NR.read_text()) == old
    assert _echo_ok(stack)


def test_help_needs_no_root_or_eal():
    for b, opt in (("mps-primary", "--listen PORT:APP"), ("mps-secondary", "--worker ID")):
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            str(BUILD / b), "--help"], capture_output=True, text=True,
                           timeout=10)
        assert r.returncode == 0 and opt in r.stdout


def test_abbreviated_file_prefix_cleans_only_its_own_files(tmp_path):
    """EAL takes --file-prefix abbreviated (--file-pre=X). The primary's
    clean-up at exit must remove X's hugepage files and runtime dir, never
    the default prefix's ("rte": another DPDK application's). Run in a
    mount namespace of its own with a fresh hugetlbfs over every hugetlbfs
    mount, so the decoy rtemap_0 (and anything the clean-up might delete)
    is the test's, never another application's. The decoy is held with a
    shared flock, as EAL holds a running application's segments (EAL's own
    start-up clears unlocked "*map_*" files of any prefix)."""
    import signal
    from mps import scaled
    ns = name = TEST_NAME + "fp"
    _throwaway_netns(ns)
    log, pidf, listing = tmp_path / "log", tmp_path / "pid", tmp_path / "listing"
    script = f"""
set -e
awk '$3 == "hugetlbfs" {{ print $2, $4 }}' /proc/mounts | sort -u |
while read -r dir opts; do mount -t hugetlbfs -o "$opts" nodev "$dir"; done
exec 9>/dev/hugepages/rtemap_0
flock -s 9
ip netns exec {ns} {BUILD / "mps-primary"} --file-pre={name} --no-pci --lcores 0@0 \\
    --vdev net_tap0,iface=mps0 --log-level=lib.eal:warning -- --workers 1 >{log} 2>&1 9>&- &
echo $! >{pidf}
wait $! || true
ls -1 /dev/hugepages >{listing}
"""
    p = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script])
    try:
        wait_until(lambda: log.exists() and "mps-primary: ready" in log.read_text(), 30,
                   "the primary with --file-pre to be ready")
        assert pathlib.Path(f"/var/run/dpdk/{name}").is_dir(), "EAL took another prefix"
        os.kill(int(pidf.read_text()), signal.SIGINT)
        assert p.wait(timeout=scaled(30)) == 0, log.read_text()
    finally:
        if p.poll() is None:
            if pidf.exists():
                os.kill(int(pidf.read_text()), signal.SIGKILL)
            p.wait(timeout=scaled(30))
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    files = listing.read_text().split()
    assert "rtemap_0" in files, "the primary deleted the default prefix's hugepage file"
    assert not [f for f in files if f.startswith(name + "map_")], files
    assert _no_runtime_dir(name)
