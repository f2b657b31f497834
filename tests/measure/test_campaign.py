import functools
import json
import os

import numpy as np
import pytest

from kvbench.load.summary import LoadResult, load_records
from kvbench.measure import floor
from kvbench.measure.campaign import (
    Campaign,
    CampaignResult,
    cross_check,
    round_order,
    run_campaign,
)
from kvbench.measure.trials import TrialPlan, TrialResult
from kvbench.results.resultset import ResultSet, read_results
from kvbench.services import SERVICES

SERVICES_AB = [SERVICES["unoptimized"], SERVICES["optimized"]]


@pytest.mark.slow
def test_rounds_run_abba_and_measure_the_ceiling_after_each():
    seen: list[str] = []
    plan = TrialPlan(connections=2, warmup_s=0, duration_s=0.2, latency_s=0)
    result = run_campaign(Campaign(SERVICES_AB, plan, 3, progress=seen.append))
    assert [s for s in seen if "trial" in s] == [
        "unoptimized trial 1/3",
        "optimized trial 1/3",
        "optimized trial 2/3",
        "unoptimized trial 2/3",
        "unoptimized trial 3/3",
        "optimized trial 3/3",
    ]
    assert [list(r) for r in result.rounds] == [["unoptimized", "optimized"]] * 3
    assert result.headroom["n"] == 3 and result.headroom["tps"] > 0
    assert len(result.samples("optimized")["http_tps"]) == 3
    sections = result.sections()
    rounds = sections["rounds"]
    assert [r["order"] for r in rounds][:2] == [["unoptimized", "optimized"],
                                                ["optimized", "unoptimized"]]  # fmt: skip
    assert all(r["headroom"] == r["ceiling_tps"] / r["fastest_tps"] for r in rounds)
    ratios = sections["paired"]["optimized"]
    assert ratios["vs"] == "unoptimized" and ratios["metrics"]["http_tps"]["n"] == 3
    new, base = result.samples("optimized")["http_tps"], result.samples("unoptimized")["http_tps"]
    expected = [o / u for o, u in zip(new, base, strict=True)]
    assert ratios["metrics"]["http_tps"]["values"] == expected
    # Unpinned: no saturation or sensitivity check (a share of the machine says nothing of
    # a core), the generator's own share is still judged.
    assert set(sections["checks"]) == {"generator", "exempt", "warnings", "undecided", "ok"}


@pytest.mark.slow
def test_a_common_rate_is_calibrated_and_recorded(tmp_path, monkeypatch):
    # the run's floor (floor.measure, tested in test_floor.py) in 2 s instead of 10: not read here
    monkeypatch.setattr(floor, "measure", functools.partial(floor.measure, seconds=2.0))
    plan = TrialPlan(connections=2, warmup_s=0, duration_s=0.2, latency_s=0.3)
    result = run_campaign(Campaign([SERVICES["optimized"]], plan, 1, headroom=False))
    rate = result.plan.rate
    assert rate and float(f"{rate:.2g}") == rate
    http = result.environment()["http"]
    assert http["offered_rate"] == rate and http["rate_source"].startswith("calibrated")
    (pooled,) = result.sections()["latency"].values()
    assert pooled["n"] == result.trials("optimized")[0].latencies_ns.size
    assert pooled["offered_rate"] == rate
    assert "loadgen_ceiling" not in result.environment()
    written = result.write(tmp_path)
    assert written["latency"]["optimized"] == "requests-optimized.npz"
    with np.load(tmp_path / written["latency"]["optimized"]) as records:
        assert set(records.files) == {"trial", "intended_ns", "sent_ns", "answered_ns"}
        assert records["trial"].tolist() == [0] * pooled["n"]
    trials = json.loads((tmp_path / written["trials"]["optimized"]).read_text())
    assert trials["offered_rate"] == rate and len(trials["trials"]) == 1
    assert "http_send_lag_p99_ms" in trials["trials"][0]["metrics"]
    assert "http_achieved_rate" not in trials["trials"][0]["metrics"]
    assert "pacer" in http and "server_open_cpu_us_per_req" in http["at_offered_rate"]


@pytest.mark.slow
def test_the_load_generator_gets_its_affinity_back():
    before = os.sched_getaffinity(0)
    plan = TrialPlan(connections=1, warmup_s=0, duration_s=0.1, latency_s=0)
    pinned = TrialPlan(**{**plan.__dict__, "server_cpus": frozenset({0})})
    run_campaign(Campaign([SERVICES["optimized"]], pinned, 1, headroom=False))
    assert os.sched_getaffinity(0) == before


def test_the_cross_check_compares_the_two_generators_ratios():
    def stored(values):
        return {"values": values}

    metrics = {"http_tps": stored([9.0, 10.0, 11.0]), "http_wrk_tps": stored([8.0, 8.5, 9.0])}
    paired = {"optimized": {"vs": "unoptimized", "metrics": metrics}}
    found = cross_check(paired)["optimized"]
    assert found["builtin_ratio"] == 10.0 and found["wrk_ratio"] == 8.5
    assert found["wrk_over_builtin"] == 0.85 and found["within_10pct"] is False


def test_round_order_reverses_every_other_round():
    names = [[s.name for s in round_order(SERVICES_AB, i)] for i in range(4)]
    assert names == [["unoptimized", "optimized"], ["optimized", "unoptimized"]] * 2


def test_written_records_reload_to_the_same_percentiles(tmp_path):
    results = [synthetic(seed) for seed in range(3)]
    trials = [TrialResult({"http_tps": 1.0}, r) for r in results]
    plan = TrialPlan(connections=2, latency_s=1.0, rate=1000.0)
    campaign = Campaign([SERVICES["optimized"]], plan, 3, headroom=False)
    result = CampaignResult(campaign, plan, [{"optimized": t} for t in trials], "none")
    written = result.write(tmp_path)
    records = load_records(tmp_path / written["latency"]["optimized"])
    assert records["trial"].tolist() == [0] * 2000 + [1] * 2000 + [2] * 2000
    assert (records["answered_ns"] == -1).sum() == 3  # one unanswered a trial, kept as -1
    reloaded = ResultSet(tmp_path / "summary.json", {}, {"files": written}).latency
    assert reloaded["optimized"] == result.latency()["optimized"] | {"offered_rate": None}
    assert reloaded["optimized"]["n"] == 3 * 1999
    trials = read_results(tmp_path / written["trials"]["optimized"]).service("optimized")
    assert trials["http_tps"].values == (1.0, 1.0, 1.0)


def synthetic(seed: int) -> LoadResult:
    """2,000 requests 1 ms apart, sent up to 50 us late, answered 0.1-5 ms after; one never."""
    rng = np.random.default_rng(seed)
    intended = np.arange(2000, dtype=np.int64) * 1_000_000
    sent = intended + rng.integers(0, 50_000, 2000)
    answered = sent + rng.integers(100_000, 5_000_000, 2000)
    answered[7] = -1
    return LoadResult("open", 2, 0.0, 2.0, 1999, 1, 0, 0, {"x": 1}, [], intended, sent, answered)


def test_paired_and_latency_sections_from_known_rounds():
    from kvbench.measure.campaign import CampaignResult
    from kvbench.measure.trials import TrialResult

    plan = TrialPlan(connections=2, warmup_s=0, duration_s=0.2, latency_s=0.3, rate=100.0)
    campaign = Campaign(SERVICES_AB, plan, 6)
    drift = [1.0, 1.4, 0.8, 1.2, 0.9, 1.1]
    rng = np.random.default_rng(5)
    rounds = [
        {name: TrialResult({"http_tps": scale * d * (1 + 0.01 * i)},
                           answered_after(rng.integers(1_000_000, 2_000_000, size=1_000)))
         for name, scale in (("unoptimized", 1000.0), ("optimized", 9000.0))}
        for i, d in enumerate(drift)
    ]  # fmt: skip
    result = CampaignResult(campaign, plan, rounds, "none")
    entry = result.paired()["optimized"]
    assert entry["vs"] == "unoptimized"
    tps = entry["metrics"]["http_tps"]
    assert tps["median"] == pytest.approx(9.0) and tps["n"] == 6
    assert tps["unpaired"]["ratio"] == pytest.approx(9.0, rel=0.05)
    assert tps["correlation"] > 0.99 and tps["narrower"] == "paired"
    latency = result.latency()["optimized"]
    assert latency["n"] == 6_000 and latency["trials"] == 6
    assert latency["p99"]["ci_low"] is not None  # six trials: an interval from whole trials


def answered_after(latencies_ns: np.ndarray) -> LoadResult:
    """An open-loop run whose requests were sent on time and answered after these latencies."""
    intended = np.arange(latencies_ns.size, dtype=np.int64) * 1_000_000
    n = int(latencies_ns.size)
    return LoadResult("open", 2, 0.0, 1.0, n, 0, 0, 0, {}, [], intended, intended,
                      intended + latencies_ns)  # fmt: skip
