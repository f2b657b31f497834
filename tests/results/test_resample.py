import math
from statistics import NormalDist

import numpy as np
import pyperf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kvbench import KvbenchError
from kvbench.load.summary import save_records
from kvbench.results.latency import (
    PERCENTILES,
    current,
    current_summary,
    percentile_ms,
    pooled,
)
from kvbench.results.resample import (
    PER_PROCESS,
    cluster_percentiles,
    interval,
    log_correlation,
    per_process,
    process_means,
    ratio_interval,
    t975,
    tail_level,
    trial_counts,
    unpaired_ratio,
)


def trials(seed: int, sizes=(50, 80, 65, 70, 90, 55, 60)) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(1_000, 100_000, size=n) for n in sizes]


def test_cluster_percentiles_are_the_pooled_percentiles_of_whole_trials_drawn_again():
    chunks = trials(1)
    found = cluster_percentiles(chunks, ["50", "99"], resamples=40, seed=3)
    counts = trial_counts(np.random.default_rng(3), len(chunks), 40)
    for row, drawn in zip(found, counts, strict=True):
        pool = np.concatenate([np.tile(c, k) for c, k in zip(chunks, drawn, strict=True)])
        expected = np.percentile(pool, [50, 99], method="inverted_cdf")
        assert row.tolist() == expected.tolist()


def test_pooled_keeps_the_nearest_rank_point_and_gets_its_interval_from_the_trials():
    chunks = trials(2, sizes=(1_000,) * 8)
    found = pooled(chunks, 500.0)
    everything = np.concatenate(chunks)
    assert found["n"] == 8_000 and found["offered_rate"] == 500.0 and found["trials"] == 8
    assert found["p99"]["ms"] == np.percentile(everything, 99, method="inverted_cdf") / 1e6
    assert found["p99"]["beyond"] == 80
    assert found["p99"]["ci_low"] < found["p99"]["ms"] < found["p99"]["ci_high"]
    assert "whole trials resampled" in found["ci_method"]
    assert pooled(chunks, 500.0) == found  # seeded: the same interval every time


def test_fewer_than_six_trials_or_one_bare_array_give_no_interval():
    for chunks in (trials(3, sizes=(2_000,) * 5), [np.concatenate(trials(3))]):
        found = pooled(chunks)
        assert found["p50"]["ci_low"] is None and found["p50"]["ci_high"] is None
    with pytest.raises(TypeError, match="one array per trial"):
        pooled(np.arange(100))  # type: ignore[arg-type]


def test_a_nan_latency_is_refused():
    with pytest.raises(ValueError, match="NaN"):
        pooled([np.array([1.0, math.nan, 3.0])] * 6)


def test_the_interval_is_two_draws_at_levels_expanded_for_few_units():
    draws = np.exp(np.random.default_rng(4).normal(0, 0.1, size=2_000))
    low, high = interval(1.0, draws, 10)
    assert low in draws and high in draws  # values a resample gave, never beyond them
    tail = tail_level(10)
    assert tail == pytest.approx(NormalDist().cdf(-math.sqrt(10 / 9) * 2.262))
    assert np.mean(draws <= low) == pytest.approx(tail, abs=1 / 2_000)
    assert np.mean(draws >= high) == pytest.approx(tail, abs=1 / 2_000)
    assert tail_level(6) < tail_level(10) < tail_level(30) < 0.025  # fewer units: wider
    assert interval(1.0, draws, 5) is None
    assert t975(9) == 2.262 and t975(120) == pytest.approx(1.980, abs=1e-3)


def test_an_interval_never_reaches_past_the_draws_even_from_a_skewed_few():
    draws = np.array([1.0] * 1_990 + [50.0] * 10)  # a log-symmetric interval went past 50
    low, high = interval(1.2, draws, 10)
    assert 1.0 <= low <= high <= 50.0


def test_unpaired_ratio_is_the_ratio_of_medians_and_refuses_non_positive_values():
    top, bottom = [2.0, 2.2, 1.8, 2.1, 1.9, 2.0], [1.0, 1.1, 0.9, 1.0, 1.05, 0.95]
    value, ci = unpaired_ratio(top, bottom)
    assert value == pytest.approx(2.0 / 1.0) and ci is not None and ci[0] < value < ci[1]
    with pytest.raises(ValueError, match="positive"):
        unpaired_ratio([0.0, *top[1:]], bottom)


def test_log_correlation_is_pearson_of_the_logs():
    a = [1.0, 2.0, 4.0, 8.0]
    assert log_correlation(a, [v * 3 for v in a]) == pytest.approx(1.0)
    assert log_correlation(a, [1 / v for v in a]) == pytest.approx(-1.0)
    assert log_correlation(a, [5.0] * 4) is None


def test_pyperf_values_become_one_mean_per_process_warmups_and_calibration_left_out():
    runs = [
        pyperf.Run([], warmups=[(1, 9.0)], metadata={"name": "b", "loops": 1, "calibrate_loops": 1},
                   collect_metadata=False),
        pyperf.Run([1.0, 3.0], warmups=[(1, 50.0)], metadata={"name": "b", "loops": 1},
                   collect_metadata=False),
        pyperf.Run([5.0, 7.0], metadata={"name": "b", "loops": 1}, collect_metadata=False),
    ]  # fmt: skip
    bench = pyperf.Benchmark(runs)
    assert process_means(bench) == [2.0, 6.0] and per_process(bench)
    trials = pyperf.Benchmark([pyperf.Run([1.0, 2.0, 3.0], metadata={"name": "t"},
                                          collect_metadata=False)])  # fmt: skip
    assert process_means(trials) == [1.0, 2.0, 3.0] and not per_process(trials)
    assert "the process is the unit" in PER_PROCESS


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(200, 1_500), min_size=6, max_size=12),
    st.floats(0.1, 2.0),
    st.integers(0, 2**32 - 1),
)
def test_every_pooled_interval_lies_within_the_trials_own_percentiles(sizes, spread, seed):
    rng = np.random.default_rng(seed)
    chunks = [(1e5 * rng.lognormal(rng.normal(0, spread), spread, n)).astype(np.int64)
              for n in sizes]  # fmt: skip
    found = pooled(chunks)
    for name, percent in PERCENTILES.items():
        if name in found:
            each = [percentile_ms(c, percent) for c in chunks]
            entry = found[name]
            assert min(each) <= entry["ci_low"] <= entry["ci_high"] <= max(each), name


def test_an_interval_stored_by_another_method_is_made_again_from_the_records(tmp_path):
    chunks = trials(6, sizes=(1_200,) * 8)
    latency = np.concatenate(chunks)
    trial = np.repeat(np.arange(8), 1_200)
    save_records(tmp_path / "requests-a.npz", {"trial": trial, "intended_ns": np.zeros_like(trial),
                 "sent_ns": np.zeros_like(trial), "answered_ns": latency})  # fmt: skip
    fresh = pooled(chunks, 100.0)
    older = fresh | {"ci_method": "a Student-t", "p99": fresh["p99"] | {"ci_high": 1e9}}
    files = {"a": "requests-a.npz", "b": "latency-b.npy"}
    found = current({"a": older, "b": older}, tmp_path, files)
    assert found["a"]["p99"] == fresh["p99"] and "recomputed" in found["a"]["ci_method"]
    assert found["b"] == older  # no per-trial records: kept as stored
    assert current({"a": fresh}, tmp_path, files)["a"] is fresh  # this method's: as stored
    summary = {"latency": {"a": older}, "files": {"latency": files}, "services": {}}
    assert current_summary(summary, tmp_path)["latency"]["a"]["p99"] == fresh["p99"]
    assert summary["latency"]["a"] is older  # the summary read is left as it was
    assert current_summary({"services": {}}, tmp_path) == {"services": {}}
    wrong = older | {"p99": older["p99"] | {"ms": 1.0}}
    with pytest.raises(KvbenchError, match="do not give the stored p99"):
        current({"a": wrong}, tmp_path, files)


def test_a_tail_ratio_resamples_whole_rounds_so_both_sides_take_the_same_rounds():
    old = trials(7, sizes=(500,) * 8)
    halved = [t // 2 for t in old]  # every round's new side half its old side, exactly
    value, ci = ratio_interval(old, halved, "99")
    assert value == pytest.approx(0.5, abs=1e-3) and ci == pytest.approx((0.5, 0.5), abs=1e-3)
    other = trials(8, sizes=(500,) * 8)  # a new side unrelated to the old one
    value, ci = ratio_interval(old, other, "99")
    pooled_ratio = np.percentile(np.concatenate(other), 99, method="inverted_cdf") / np.percentile(
        np.concatenate(old), 99, method="inverted_cdf"
    )
    assert value == pooled_ratio and ci is not None and ci[0] < ci[1]
    assert ratio_interval(old, other, "99") == (value, ci)  # seeded
    with pytest.raises(ValueError, match="in pairs"):
        ratio_interval(old, other[:7], "99")
