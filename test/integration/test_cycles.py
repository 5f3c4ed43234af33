"""Where the cycles go: a stack of the cycles build (build/cycles, `make
cycles`) charges every cycle of a busy loop iteration to one category,
read through the primary's /mps/cycles,ID. The categories sum to the
worker's busy cycles (the same TSC reads as the slot's busy_cycles), each
one the traffic goes through is charged, and app time is only charged when
an app runs (pings reach no app). A normal build's worker reserves no zone."""
import pytest

from mps import BUILD, TEST_NAME, Stack, echo_once, http_once, wait_until

CYCLES_BUILD = BUILD / "cycles"
CATEGORIES = ["drv_rx", "drv_tx", "parse", "neigh", "lwip_in", "app", "lwip_out",
              "timers", "other"]


@pytest.fixture(scope="module")
def cstack():
    if not (CYCLES_BUILD / "mps-secondary").exists():
        pytest.skip(f"{CYCLES_BUILD}/mps-secondary missing: run make cycles")
    s = Stack(TEST_NAME + "cyc", workers=1, primary_args="--listen 7:echo,80:http")
    s.env["MPS_BUILD"] = str(CYCLES_BUILD)
    with s.running():
        yield s


def snapshot(stack):
    """Worker 0's cycles zone and its slot's busy counters, read while no
    busy iteration ended (the slot's busy_iterations the same before and
    after the zone is read)."""
    got = {}

    def steady():
        before = stack.telemetry("/mps/worker", 0)
        cyc = stack.telemetry("/mps/cycles", 0)
        after = stack.telemetry("/mps/worker", 0)
        if before["busy_iterations"] != after["busy_iterations"]:
            return False
        got.update(cyc=cyc, slot=after)
        return True
    wait_until(steady, 10, "a moment without a busy iteration")
    return got["cyc"], got["slot"]


def check_sums(cyc, slot):
    assert set(CATEGORIES) <= set(cyc), cyc
    assert cyc["unbalanced"] == 0, cyc
    assert cyc["tsc_reads"] > 0 and cyc["tsc_read_cycles"] > 0, cyc
    assert sum(cyc[k] for k in CATEGORIES) == cyc["busy_cycles"], cyc
    assert cyc["busy_cycles"] == slot["busy_cycles"], (cyc, slot["busy_cycles"])
    assert cyc["busy_iterations"] == slot["busy_iterations"], (cyc, slot["busy_iterations"])


def test_breakdown(cstack):
    # Pings only: driver, parse, lwIP in and out (ICMP replies), no app.
    r = cstack.exec("ping", "-c", "5", "-i", "0.05", "-W", "5", "198.18.0.2")
    assert r.returncode == 0, r.stdout + r.stderr
    cyc, slot = snapshot(cstack)
    check_sums(cyc, slot)
    for k in ("drv_rx", "drv_tx", "parse", "neigh", "lwip_in", "lwip_out"):
        assert cyc[k] > 0, (k, cyc)
    assert cyc["app"] == 0, cyc

    # Echo and HTTP: the app's callbacks, and next-hop lookups for TCP.
    for _ in range(5):
        assert echo_once(cstack)
        assert http_once(cstack).startswith(b"HTTP/1.1 200")
    cyc2, slot2 = snapshot(cstack)
    check_sums(cyc2, slot2)
    for k in ("drv_rx", "drv_tx", "parse", "neigh", "lwip_in", "lwip_out"):
        assert cyc2[k] > cyc[k], (k, cyc, cyc2)
    assert cyc2["app"] > 0, cyc2


def test_normal_build_has_no_zone(stack):
    assert echo_once(stack)
    assert [stack.telemetry("/mps/cycles", w) for w in range(stack.workers)] == [{}] * stack.workers
