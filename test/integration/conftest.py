"""Fixtures: one mpstack (primary + 2 workers) shared by the session."""
import os

import pytest

from mps import BUILD, TEST_NAME, Stack


def pytest_sessionstart(session):
    if os.geteuid() != 0:
        pytest.exit("integration tests need root (netns, tap, hugepages)", 2)
    for b in ("mps-primary", "mps-secondary"):
        if not (BUILD / b).exists():
            pytest.exit(f"{BUILD / b} missing: run make", 2)


@pytest.fixture(scope="session")
def stack():
    s = Stack(TEST_NAME, workers=2,
              primary_args="--listen 7:echo,80:http,9:discard,5001:iperf")
    with s.running():
        yield s
