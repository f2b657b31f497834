import os

import numpy as np
import pytest

from kvbench.measure.campaign import Campaign, run_campaign
from kvbench.measure.trials import TrialPlan
from kvbench.services import SERVICES

pytestmark = pytest.mark.slow

SERVICES_AB = [SERVICES["unoptimized"], SERVICES["optimized"]]


def test_rounds_alternate_services_and_measure_the_ceiling_after_each():
    seen: list[str] = []
    plan = TrialPlan(connections=2, warmup_s=0, duration_s=0.2, latency_s=0)
    result = run_campaign(Campaign(SERVICES_AB, plan, 2, progress=seen.append))
    assert [s for s in seen if "trial" in s] == [
        "unoptimized trial 1/2",
        "optimized trial 1/2",
        "unoptimized trial 2/2",
        "optimized trial 2/2",
    ]
    assert [sorted(r) for r in result.rounds] == [["optimized", "unoptimized"]] * 2
    assert result.headroom["n"] == 2 and result.headroom["tps"] > 0
    assert len(result.samples("optimized")["http_tps"]) == 2


def test_a_common_rate_is_calibrated_and_recorded(tmp_path):
    plan = TrialPlan(connections=2, warmup_s=0, duration_s=0.2, latency_s=0.3)
    result = run_campaign(Campaign([SERVICES["optimized"]], plan, 1, headroom=False))
    rate = result.plan.rate
    assert rate and float(f"{rate:.2g}") == rate
    http = result.environment()["http"]
    assert http["offered_rate"] == rate and http["rate_source"].startswith("calibrated")
    assert "loadgen_ceiling" not in result.environment()
    written = result.write(tmp_path)
    latencies = np.load(tmp_path / written["latency"]["optimized"])
    assert latencies.size > 0 and (tmp_path / written["http"]["optimized"]).is_file()


def test_the_load_generator_gets_its_affinity_back():
    before = os.sched_getaffinity(0)
    plan = TrialPlan(connections=1, warmup_s=0, duration_s=0.1, latency_s=0)
    pinned = TrialPlan(**{**plan.__dict__, "server_cpus": frozenset({0})})
    run_campaign(Campaign([SERVICES["optimized"]], pinned, 1, headroom=False))
    assert os.sched_getaffinity(0) == before
