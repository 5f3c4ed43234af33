"""Fixtures: one mpstack (primary + 2 workers) shared by the session, and
stress mode (MPS_TEST_HOG=1): a busy loop pinned to one CPU for the whole
session, with every time bound of the suite scaled (mps.TIME_SCALE)."""
import ctypes
import os
import pathlib
import signal
import subprocess
import sys

import pytest

# The helpers live with the tools that share them (scripts/mps.py).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "scripts"))
from mps import BUILD, HOG, TEST_NAME, TIME_SCALE, Stack  # noqa: E402

_hog = None


def pytest_sessionstart(session):
    global _hog
    if os.geteuid() != 0:
        pytest.exit("integration tests need root (netns, tap, hugepages)", 2)
    for b in ("mps-primary", "mps-secondary"):
        if not (BUILD / b).exists():
            pytest.exit(f"{BUILD / b} missing: run make", 2)
    if HOG:
        # The last CPU: worker 0's (mps-run.sh pins worker K on CPU K+1 mod N).
        cpu = str(os.cpu_count() - 1)
        # PR_SET_PDEATHSIG: the loop dies with pytest even if pytest is killed.
        libc = ctypes.CDLL(None, use_errno=True)
        _hog = subprocess.Popen(["taskset", "-c", cpu, "/bin/sh", "-c", "while :; do :; done"],
                                start_new_session=True,
                                preexec_fn=lambda: libc.prctl(1, signal.SIGKILL))
        print(f"\nstress mode: busy loop pid {_hog.pid} on CPU {cpu}, "
              f"time bounds x{TIME_SCALE:g}")


def pytest_sessionfinish(session, exitstatus):
    if _hog is not None and _hog.poll() is None:
        os.killpg(_hog.pid, signal.SIGKILL)
        _hog.wait()


@pytest.fixture(scope="session")
def stack():
    s = Stack(TEST_NAME, workers=2,
              primary_args="--listen 7:echo,80:http,9:discard,5001:iperf")
    with s.running():
        yield s
