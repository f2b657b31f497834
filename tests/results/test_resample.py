import math

import numpy as np
import pyperf
import pytest

from kvbench.results.latency import pooled
from kvbench.results.resample import (
    PER_PROCESS,
    cluster_percentiles,
    interval,
    log_correlation,
    per_process,
    process_means,
    t975,
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


def test_the_interval_widens_the_bootstrap_error_for_few_units():
    draws = np.exp(np.random.default_rng(4).normal(0, 0.1, size=2_000))
    low, high = interval(1.0, draws, 10)
    spread = np.std(np.log(draws), ddof=1) * math.sqrt(10 / 9) * 2.262
    assert math.log(high) == pytest.approx(spread) and math.log(low) == pytest.approx(-spread)
    assert interval(1.0, draws, 5) is None
    assert t975(9) == 2.262 and t975(120) == pytest.approx(1.980, abs=1e-3)


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
