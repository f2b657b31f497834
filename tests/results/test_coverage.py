"""Each interval method on synthetic data whose truth is known: how often does it cover it?

Every dataset is clustered the way the benchmarks are: trials (or pyperf processes, or
rounds) each get a random offset, and the values within one share it. A 95% interval
should cover the truth in about 95% of datasets. Seeded: the figures below are exact.
"""

import math
from statistics import NormalDist

import numpy as np

from kvbench.results.latency import estimate, pooled
from kvbench.results.ratios import paired_entry
from kvbench.results.resample import cluster_percentiles
from kvbench.results.stats import median_ci

DATASETS = 200
TRIALS, REQUESTS = 10, 1_000
OFFSET, NOISE = 0.1, 0.5  # log-normal: per-trial offset, within-trial spread


def covers(interval, truth: float) -> bool:
    return interval[0] is not None and interval[0] <= truth <= interval[1]


def latency_dataset(rng) -> list[np.ndarray]:
    """One campaign's open-loop latencies (ns): TRIALS trials, each with its own offset."""
    return [
        (1e6 * np.exp(rng.normal(0, OFFSET) + NOISE * rng.standard_normal(REQUESTS))).astype(
            np.int64
        )
        for _ in range(TRIALS)
    ]


def test_pooled_p99_interval_from_whole_trials_covers_and_the_old_one_did_not():
    # The population: log latency ~ N(0, OFFSET^2 + NOISE^2); its p99 in ms.
    truth = math.exp(NormalDist().inv_cdf(0.99) * math.hypot(OFFSET, NOISE))
    rng = np.random.default_rng(20)
    new = old = plain = 0
    for _ in range(DATASETS):
        trials = latency_dataset(rng)
        found = pooled(trials)["p99"]
        new += covers((found["ci_low"], found["ci_high"]), truth)
        before = estimate(np.sort(np.concatenate(trials)), "99")  # requests as if independent
        old += covers((before["ci_low"], before["ci_high"]), truth)
        draws = cluster_percentiles(trials, ["99"])[:, 0] / 1e6  # the same resamples
        plain += covers(np.percentile(draws, [2.5, 97.5]), truth)
    assert 0.90 <= new / DATASETS <= 0.99, new / DATASETS  # 0.92
    assert old / DATASETS < 0.75, old / DATASETS  # 0.625: the method this replaced
    assert old < plain < new  # 0.865: the plain 2.5-97.5% bootstrap percentiles, at 10 trials


def skewed_trial(rng, index: int) -> np.ndarray:
    """A right-skewed latency (ms): a floor plus a log-normal whose tail is long (sigma 1)."""
    return np.exp(rng.normal(0, OFFSET)) * (0.2 + rng.lognormal(0, 1.0, REQUESTS))


def contaminated_trial(rng, index: int) -> np.ndarray:
    """The mild trials of the first test, but trial 0 stalled: 5% of its requests 10x late."""
    found = np.exp(rng.normal(0, OFFSET) + NOISE * rng.standard_normal(REQUESTS))
    if index == 0:
        found[rng.random(REQUESTS) < 0.05] *= 10
    return found


def pooled_truth(trial, rng, trials: int = 400) -> float:
    """The population's p99 (ms): the pooled p99 of many trials drawn the same way."""
    return float(np.quantile(np.concatenate([trial(rng, i % TRIALS) for i in range(trials)]), 0.99))


def test_pooled_p99_interval_covers_skewed_and_contaminated_trials_and_stays_in_their_range():
    for trial, least in ((skewed_trial, 0.90), (contaminated_trial, 0.95)):
        truth = pooled_truth(trial, np.random.default_rng(24))
        rng = np.random.default_rng(25)
        covered = 0
        for _ in range(DATASETS):
            trials = [(1e6 * trial(rng, i)).astype(np.int64) for i in range(TRIALS)]
            found = pooled(trials)["p99"]
            covered += covers((found["ci_low"], found["ci_high"]), truth)
            each = [np.percentile(t, 99, method="inverted_cdf") / 1e6 for t in trials]
            assert min(each) <= found["ci_low"] <= found["ci_high"] <= max(each)
        # 0.955 skewed; 1.0 contaminated (the stalled trial is in most resamples' tails,
        # and the interval, though never past the trials, is wide: it should be).
        assert least <= covered / DATASETS, (trial.__name__, covered / DATASETS)


def test_per_process_medians_cover_and_all_values_pooled_cover_less():
    # pyperf: 10 processes x 2 values; a process's values share its offset.
    rng = np.random.default_rng(21)
    new = old = 0
    for _ in range(DATASETS * 2):
        offsets = rng.normal(0, 1.0, size=(10, 1))
        values = 100 + offsets + 0.3 * rng.standard_normal((10, 2))
        new += covers(median_ci(list(values.mean(axis=1))), 100)
        old += covers(median_ci(list(values.ravel())), 100)
    assert 0.93 <= new / (DATASETS * 2) <= 0.995, new / (DATASETS * 2)  # 0.9775
    assert old < new  # 0.885: 20 values that are 10 pairs, as if independent


def ratio_dataset(rng, drift: float, rounds: int = 10) -> list[tuple[float, float]]:
    """(service, base) per round: the service 2x the base, both moved by the round's drift."""
    shared = rng.normal(0, drift, size=rounds)
    base = np.exp(shared + rng.normal(0, 0.05, size=rounds))
    service = 2 * np.exp(shared + rng.normal(0, 0.05, size=rounds))
    return list(zip(service.tolist(), base.tolist(), strict=True))


def test_paired_and_unpaired_ratio_intervals_cover_and_pairing_narrows_with_shared_drift():
    rng = np.random.default_rng(22)
    for drift, narrower in ((0.15, "paired"), (0.0, None)):
        paired = unpaired = 0
        said = []
        for _ in range(DATASETS):
            entry = paired_entry(ratio_dataset(rng, drift))
            paired += covers((entry["ci_low"], entry["ci_high"]), 2.0)
            other = entry["unpaired"]
            unpaired += covers((other["ci_low"], other["ci_high"]), 2.0)
            said.append(entry["narrower"])
        # Paired: order statistics, at least 95% by construction (0.98 at 10 rounds).
        assert 0.93 <= paired / DATASETS <= 0.995, (drift, paired / DATASETS)
        # Unpaired: 0.98 without drift; 1.0 with it (each side's median carries the drift,
        # which the ratio of the two cancels: too wide, which is what pairing fixes).
        assert unpaired / DATASETS >= 0.90, (drift, unpaired / DATASETS)
        if narrower:  # drift shared within a round: correlation near 1, pairing cancels it
            assert said.count(narrower) == DATASETS
        else:  # nothing shared: neither method is reliably narrower
            assert 0.25 * DATASETS < said.count("paired") < 0.75 * DATASETS
