import os

import psutil
import pytest

from kvbench.measure.headroom import headroom
from kvbench.measure.trials import TrialPlan

PLAN = TrialPlan(connections=4, warmup_s=0.1, duration_s=0.3, latency_s=0)


@pytest.mark.slow
def test_headroom_measures_one_window_per_call_and_stops_its_server():
    others = set(psutil.Process().children())  # session-scoped servers of other tests
    with headroom(PLAN) as canned:
        servers = set(psutil.Process().children()) - others
        canned.window()
        canned.window()
        summary = canned.summary()
    assert summary["n"] == 2 and summary["tps"] == summary["median"] > 0
    assert not [p for p in servers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_the_canned_server_runs_on_the_servers_cpu_not_the_generators():
    before = os.sched_getaffinity(0)
    generator, server = sorted(before)[:2]
    os.sched_setaffinity(0, {generator})  # as a campaign pins the load generator first
    try:
        plan = TrialPlan(connections=2, warmup_s=0, duration_s=0.1, server_cpus=frozenset({server}))
        others = set(psutil.Process().children())
        with headroom(plan):
            (canned,) = set(psutil.Process().children()) - others
            assert set(canned.cpu_affinity()) == {server}
    finally:
        os.sched_setaffinity(0, before)


@pytest.mark.slow
def test_the_ceiling_records_how_busy_the_canned_server_was():
    with headroom(PLAN) as canned:
        canned.window()
        summary = canned.summary()
    assert 0 < summary["canned_busy_max"] < 1.1
    assert summary["lower_bound"] == (summary["canned_busy_max"] >= 0.95)
