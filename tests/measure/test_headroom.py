import os

import psutil
import pytest

from kvbench.measure.headroom import checks, headroom
from kvbench.measure.trials import TrialPlan

PLAN = TrialPlan(connections=4, warmup_s=0.1, duration_s=0.3, latency_s=0)


def record(ceiling: float, fastest_tps: float, busy: dict[str, float], lag_ms=0.001) -> dict:
    return {"ceiling_tps": ceiling, "fastest": "optimized", "fastest_tps": fastest_tps,
            "headroom": ceiling / fastest_tps, "busy": busy,
            "send_lag_p99_ms": {"optimized": lag_ms},
            "open_p50_ms": {"optimized": 0.2}}  # fmt: skip


def test_a_round_under_twice_the_fastest_service_is_a_warning():
    busy = {"optimized": 0.999}
    rounds = [record(50_000, 24_000, busy), record(27_600, 24_000, busy)]
    found = checks(rounds, frozenset(), 1)
    assert found["headroom"]["rounds_below"] == [2] and not found["ok"]
    assert found["warnings"] == [
        "round 2: the load generator's ceiling (27,600 req/s) was 1.15x the fastest service "
        "(optimized, 24,000 req/s), under 2x"
    ]
    assert checks(rounds[:1], frozenset(), 1)["ok"]


def test_a_pinned_server_busy_under_95_percent_is_a_warning_unless_exempt():
    rounds = [record(90_000, 20_000, {"optimized": 0.999, "raw-protocol": 0.6}),
              record(90_000, 20_000, {"optimized": 0.93, "raw-protocol": 0.6})]  # fmt: skip
    found = checks(rounds, frozenset({"raw-protocol"}), 1)
    assert found["saturation"]["trials_below"] == [
        {"round": 2, "service": "optimized", "busy": 0.93}
    ]
    assert "93.0% of its closed-loop window" in found["warnings"][0]
    unpinned = checks(rounds, frozenset({"raw-protocol"}), None)
    assert unpinned["saturation"]["status"] == "not run" and not unpinned["ok"]


def test_every_check_that_ran_and_passed_is_ok():
    found = checks([record(90_000, 20_000, {"optimized": 0.999})], frozenset(), 1)
    statuses = {name: found[name]["status"] for name in ("headroom", "saturation", "schedule")}
    assert statuses == dict.fromkeys(statuses, "ok") and found["ok"] and not found["warnings"]


def test_a_check_that_did_not_run_is_not_ok():
    # No ceiling measured, no open loop: the saturation check passes, the others never ran.
    rounds = [{"order": ["optimized"], "busy": {"optimized": 0.999}}]
    found = checks(rounds, frozenset(), 1)
    assert found["headroom"]["status"] == found["schedule"]["status"] == "not run"
    assert found["saturation"]["status"] == "ok"
    assert not found["ok"]
    assert (
        "the headroom check did not run: no ceiling of the load generator measured"
        in (found["warnings"])
    )


def test_a_trial_whose_send_lag_passes_a_tenth_of_its_p50_is_generator_limited():
    rounds = [record(90_000, 20_000, {"optimized": 0.999}, lag_ms=0.019),
              record(90_000, 20_000, {"optimized": 0.999}, lag_ms=0.021)]  # fmt: skip
    found = checks(rounds, frozenset(), 1)
    assert found["schedule"]["status"] == "failed" and not found["ok"]
    assert found["schedule"]["trials_late"] == [
        {"round": 2, "service": "optimized", "send_lag_p99_ms": 0.021, "p50_ms": 0.2}
    ]
    [warning] = found["warnings"]
    assert warning.startswith("round 2: optimized's open loop was generator-limited")


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
