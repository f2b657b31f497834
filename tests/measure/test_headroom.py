import os

import psutil
import pytest

from kvbench.measure.headroom import checks, headroom
from kvbench.measure.trials import TrialPlan

PLAN = TrialPlan(connections=4, warmup_s=0.1, duration_s=0.3, latency_s=0)


def record(ceiling: float, fastest_tps: float, busy: dict[str, float]) -> dict:
    return {"ceiling_tps": ceiling, "fastest": "optimized", "fastest_tps": fastest_tps,
            "headroom": ceiling / fastest_tps, "busy": busy}  # fmt: skip


def test_a_round_under_twice_the_fastest_service_is_a_warning():
    rounds = [record(50_000, 24_000, {}), record(27_600, 24_000, {})]
    found = checks(rounds, frozenset(), None)
    assert found["headroom"]["rounds_below"] == [2] and not found["ok"]
    assert found["warnings"] == [
        "round 2: the load generator's ceiling (27,600 req/s) was 1.15x the fastest service "
        "(optimized, 24,000 req/s), under 2x"
    ]
    assert checks(rounds[:1], frozenset(), None)["ok"]


def test_a_pinned_server_busy_under_95_percent_is_a_warning_unless_exempt():
    rounds = [record(90_000, 20_000, {"optimized": 0.999, "raw-protocol": 0.6}),
              record(90_000, 20_000, {"optimized": 0.93, "raw-protocol": 0.6})]  # fmt: skip
    found = checks(rounds, frozenset({"raw-protocol"}), 1)
    assert found["saturation"]["trials_below"] == [
        {"round": 2, "service": "optimized", "busy": 0.93}
    ]
    assert "93.0% of its closed-loop window" in found["warnings"][0]
    assert checks(rounds, frozenset({"raw-protocol"}), None)["ok"]  # unpinned: not checked


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
