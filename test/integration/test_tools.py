"""The user-facing commands around the stack: `make demo` redirected to a
file keeps every section, and the targets that need a running stack say in
one line that none runs (and how to start one) instead of failing deep
inside."""
import os
import subprocess

from mps import REPO, TEST_NAME, scaled


def test_demo_redirected_to_a_file_keeps_every_section(tmp_path):
    name = TEST_NAME + "d"
    log = tmp_path / "demo.log"
    with open(log, "w") as out:
        r = subprocess.run([str(REPO / "scripts" / "demo.sh")], stdout=out,
                           stderr=subprocess.STDOUT, timeout=scaled(300),
                           env=dict(os.environ, MPS_NS=name, MPS_PREFIX=name))
    text = log.read_text()
    assert r.returncode == 0, text
    steps = [line for line in text.splitlines() if line.startswith("== ")]
    assert [s.split()[1] for s in steps] == [
        "starting", "ping", "echo:", "curl", "per-worker", "port", "stopping"], steps
    # The first request's body and curl's summary lines, in order.
    curl = text[text.index("== curl"):text.index("== per-worker")]
    assert curl.index("Hello from mpstack") < curl.index("200 19 bytes")
    assert text.rstrip().endswith("everything stopped and cleaned up")


def test_replay_without_a_stack_says_so_in_one_line():
    name = TEST_NAME + "none"
    r = subprocess.run(["make", "-s", "--no-print-directory", "-C", str(REPO), "replay",
                        f"MPS_NS={name}", f"MPS_PREFIX={name}"],
                       capture_output=True, text=True, timeout=scaled(60))
    assert r.returncode != 0
    ours = [line for line in r.stderr.splitlines() if not line.startswith("make")]
    assert len(ours) == 1, r.stderr
    assert f"no mpstack running in netns {name}" in ours[0] and "make run" in ours[0]
    assert "Cannot open network namespace" not in r.stdout + r.stderr


def test_first_make_in_a_fresh_clone_builds(tmp_path):
    """A fresh clone (no lwIP yet): one `make -j2` fetches lwIP and builds
    the worker (its lwIP objects are listed before the source exists)."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=120)
    assert not (clone / "third_party" / "lwip").exists()
    r = subprocess.run(["make", "-j2", "--no-print-directory", "build/mps-secondary"],
                       cwd=clone, capture_output=True, text=True, timeout=scaled(900))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert (clone / "build" / "mps-secondary").exists()
