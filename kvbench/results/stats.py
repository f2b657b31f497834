"""Medians, their distribution-free intervals and the Mann-Whitney U test, as in benchstat."""

import math
import statistics
from collections.abc import Sequence

from scipy.stats import mannwhitneyu

# Below these sizes benchstat gives no interval (6) and no test (4); so do we.
MIN_CI_SAMPLES = 6
MIN_TEST_SAMPLES = 4
# scipy's exact U distribution is cheap up to here (benchstat uses the same bound).
EXACT_TEST_LIMIT = 50


def median(values: Sequence[float]) -> float:
    """The sample median (the mean of the middle two for an even count)."""
    if not values:
        raise ValueError("median of an empty sample")
    return float(statistics.median(values))


def median_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """The confidence interval of the median from binomial order statistics, None below 6 values."""
    n = len(values)
    if n < MIN_CI_SAMPLES:
        return None
    lo, hi = _median_orders(n, confidence)
    if lo < 1 or hi > n:
        return None
    ordered = sorted(values)
    return float(ordered[lo - 1]), float(ordered[hi - 1])


def _median_orders(n: int, confidence: float) -> tuple[int, int]:
    """The 1-based order statistics (lo, hi) bounding the median with at least `confidence`.

    The count K of sample values below the population median is Binomial(n, 1/2), and
    K = k puts the median between the k-th and (k+1)-th smallest values. Starting at the
    mode, we add the likelier neighbouring k first (the left one on a tie, as benchstat
    does) until the covered probability reaches `confidence`; covering k in [lo, hi) means
    the median lies in [x(lo), x(hi)]. Integer weights C(n, k) keep ties exact.
    """
    target = confidence * 2**n
    lo = math.ceil((n + 1) / 2) - 1
    hi = lo + 1
    covered = math.comb(n, lo)
    while covered < target and (lo > 0 or hi <= n):
        left = math.comb(n, lo - 1) if lo > 0 else 0
        right = math.comb(n, hi) if hi <= n else 0
        if left >= right:
            covered, lo = covered + left, lo - 1
        else:
            covered, hi = covered + right, hi + 1
    return lo, hi


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> float | None:
    """The two-sided Mann-Whitney U p-value, None when either side has fewer than 4 values."""
    if len(a) < MIN_TEST_SAMPLES or len(b) < MIN_TEST_SAMPLES:
        return None
    if len(set(a) | set(b)) == 1:
        return 1.0  # all values equal: nothing to tell apart, and the variance would be zero
    tied = len(set(a) | set(b)) < len(a) + len(b)
    small = max(len(a), len(b)) <= EXACT_TEST_LIMIT
    # The exact distribution assumes no ties; with ties the normal approximation corrects.
    method = "exact" if small and not tied else "asymptotic"
    p = float(mannwhitneyu(a, b, alternative="two-sided", method=method).pvalue)
    return 1.0 if math.isnan(p) else min(p, 1.0)
