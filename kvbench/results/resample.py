"""Intervals by resampling the unit that was measured independently: whole trials, whole sides.

Requests of one trial share its server, its minute and its machine state, so they are not
independent draws: an interval over 66,000 pooled requests as if they were is several
times too narrow. Here every resample draws whole trials (a cluster bootstrap), and a ratio
of two services' medians resamples each side's trials on its own.

The interval: percentiles of the bootstrap draws themselves, so it never leaves the values a
resample can take (a pooled percentile of whole trials lies between the smallest and the
largest trial's). With few units the plain 2.5-97.5% percentiles are too narrow (about 85%
coverage of a pooled p99 at 10 trials), so the levels are expanded as Hesterberg proposes:
the tail probability Phi(-sqrt(n/(n-1)) x t(n-1, 97.5%)) on each side, 0.86% at 10 trials
(tests/results/test_coverage.py measures the coverage). The interval before this one, a
Student-t around the log estimate, reached values no draw could (0.20-8.98 ms for a p99 of
trials spanning 0.22-4.26 ms). Seeded: the same results always give the same interval.
"""

import math
from collections.abc import Sequence
from functools import cache
from statistics import NormalDist

import numpy as np

from kvbench.load.summary import rank
from kvbench.results.stats import MIN_CI_SAMPLES, finite

RESAMPLES = 2_000
SEED = 0
# Student's t, 97.5% point, by degrees of freedom (a 95% two-sided interval).
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)  # fmt: skip
Z975 = 1.959964
METHOD = (
    f"whole trials resampled ({RESAMPLES:,} cluster-bootstrap resamples, seed {SEED}): "
    "expanded percentile interval, the draws' nearest-rank percentiles at "
    "Phi(-sqrt(n/(n-1)) x Student's t(n-1 df, 97.5%)) and its complement, n the trials; "
    f"no interval below {MIN_CI_SAMPLES} trials"
)


def t975(df: int) -> float:
    """Student's t 97.5% point; beyond the table, its Cornish-Fisher expansion (error < 1e-4)."""
    if df < 1:
        raise ValueError(f"Student's t needs at least 1 degree of freedom, not {df}")
    if df <= len(T975):
        return T975[df - 1]
    z = Z975
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def tail_level(units: int) -> float:
    """The expanded percentile interval's probability in each tail: 0.0086 for 10 units."""
    return NormalDist().cdf(-math.sqrt(units / (units - 1)) * t975(units - 1))


def interval(estimate: float, draws: np.ndarray, units: int) -> tuple[float, float] | None:
    """The 95% interval of a positive estimate from its bootstrap draws over `units` units.

    Two of the draws (nearest rank), so the interval holds only values a resample gave.
    """
    draws = np.asarray(draws, dtype=float)
    if units < MIN_CI_SAMPLES or not estimate > 0 or not np.all(draws > 0):
        return None
    tail = tail_level(units)
    low, high = np.quantile(draws, [tail, 1 - tail], method="inverted_cdf")
    return float(low), float(high)


def trial_counts(rng: np.random.Generator, trials: int, resamples: int) -> np.ndarray:
    """(resamples, trials): how often each trial is drawn in each resample of `trials` draws."""
    picks = rng.integers(0, trials, size=(resamples, trials))
    counts = np.zeros((resamples, trials), dtype=np.int64)
    np.add.at(counts, (np.arange(resamples)[:, None], picks), 1)
    return counts


def cluster_percentiles(
    trials: Sequence[np.ndarray],
    percents: Sequence[str],
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> np.ndarray:
    """(resamples, percents): nearest-rank percentiles of resampled whole trials, pooled.

    A resample draws as many trials as there are, with replacement, and pools their
    requests; its percentile is the order statistic numpy's inverted_cdf would pick from
    that pool (`drawn_percentiles`).
    """
    counts = trial_counts(np.random.default_rng(seed), len(trials), resamples)
    return drawn_percentiles(trials, percents, counts)


def drawn_percentiles(
    trials: Sequence[np.ndarray], percents: Sequence[str], counts: np.ndarray
) -> np.ndarray:
    """(resamples, percents): the pooled percentiles of the trials drawn `counts` times each.

    The pool is never built: with `below[j, i]` the count of trial j's requests among the
    i + 1 smallest of all, a resample's pool has `counts @ below[:, i]` requests up to the
    i-th, and a bisection over i finds the wanted rank in every resample at once.
    """
    sizes = np.array([t.size for t in trials], dtype=np.int64)
    values = np.concatenate([np.asarray(t) for t in trials])
    owner = np.repeat(np.arange(len(trials)), sizes)
    order = np.argsort(values, kind="stable")
    ordered, owner = values[order], owner[order]
    below = np.cumsum(owner[None, :] == np.arange(len(trials))[:, None], axis=1)
    resamples, totals = counts.shape[0], counts @ sizes
    found = np.empty((resamples, len(percents)), dtype=float)
    for j, percent in enumerate(percents):
        wanted = np.array([_rank(int(n), percent) for n in totals])
        low, high = np.zeros(resamples, dtype=np.int64), np.full(resamples, values.size - 1)
        while np.any(low < high):
            middle = (low + high) // 2
            enough = np.einsum("rt,tr->r", counts, below[:, middle]) >= wanted
            high, low = np.where(enough, middle, high), np.where(enough, low, middle + 1)
        found[:, j] = ordered[low]
    return found


def ratio_interval(
    old: Sequence[np.ndarray],
    new: Sequence[np.ndarray],
    percent: str,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> tuple[float, tuple[float, float] | None]:
    """new's pooled percentile over old's, and its 95% interval from resampling whole rounds.

    Trial i of each side is round i (the two services back to back): a resample draws
    rounds, so both sides take the same rounds and what a round shares (a slow minute of
    the machine) stays paired. Needs the same number of trials a side.
    """
    if len(old) != len(new) or not old:
        raise ValueError(f"a ratio by rounds needs trials in pairs, not {len(old)} and {len(new)}")
    point = [float(np.percentile(np.concatenate(side), float(percent), method="inverted_cdf"))
             for side in (old, new)]  # fmt: skip
    if not point[0] > 0:
        raise ValueError(f"the old side's p{percent} is {point[0]}: no ratio")
    counts = trial_counts(np.random.default_rng(seed), len(old), resamples)
    drawn = [drawn_percentiles(side, [percent], counts)[:, 0] for side in (old, new)]
    value = point[1] / point[0]
    return value, interval(value, drawn[1] / drawn[0], len(old))


@cache
def _rank(n: int, percent: str) -> int:
    return rank(n, percent)


def median_draws(
    values: Sequence[float], rng: np.random.Generator, resamples: int = RESAMPLES
) -> np.ndarray:
    """The medians of `resamples` resamples of the values (each value one independent unit)."""
    sample = np.asarray(finite(values), dtype=float)
    picks = rng.integers(0, sample.size, size=(resamples, sample.size))
    return np.median(sample[picks], axis=1)


def unpaired_ratio(
    top: Sequence[float],
    bottom: Sequence[float],
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> tuple[float, tuple[float, float] | None]:
    """median(top) / median(bottom) and its interval, each side's trials resampled alone.

    Both sides must be positive. The units are the fewer side's trials.
    """
    if min(finite(top)) <= 0 or min(finite(bottom)) <= 0:
        raise ValueError("a ratio of medians needs positive values on both sides")
    rng = np.random.default_rng(seed)
    top_draws = median_draws(top, rng, resamples)
    bottom_draws = median_draws(bottom, rng, resamples)
    value = float(np.median(np.asarray(top, dtype=float)) / np.median(np.asarray(bottom, float)))
    return value, interval(value, top_draws / bottom_draws, min(len(top), len(bottom)))


def log_correlation(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Pearson's r of log a and log b, pair by pair; None when undefined (a constant side)."""
    x, y = np.log(np.asarray(finite(a), float)), np.log(np.asarray(finite(b), float))
    if x.size < 3 or x.size != y.size or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


PER_PROCESS = (
    "one value per pyperf worker process, the mean of its values (warm-ups left out): values "
    "of one process share its start-up and its minute, so the process is the unit; n counts "
    "processes"
)


def process_means(benchmark) -> list[float]:
    """A pyperf benchmark's values, one per worker process: the mean of that process's values.

    Calibration runs (no values) are skipped, and warm-ups are never among a run's values.
    Runs that no pyperf worker timed (no `loops`: kvbench's HTTP files, one value per
    trial) keep each value, since each is a trial of its own.
    """
    found: list[float] = []
    for run in benchmark.get_runs():
        values = list(run.values)
        if values and "loops" in run.get_metadata():
            found.append(float(np.mean(values)))
        else:
            found.extend(float(v) for v in values)
    return found


def per_process(benchmark) -> bool:
    """Whether `process_means` averaged anything (some process gave more than one value)."""
    return any(len(r.values) > 1 and "loops" in r.get_metadata() for r in benchmark.get_runs())
