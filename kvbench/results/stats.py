"""Medians, quantiles and their order-statistic intervals; the Mann-Whitney U test, as benchstat.

Everything here is exact where benchstat is exact: interval orders come from binomial
weights in integers (no float overflow at any n), and the U test uses the exact
distribution of U, ties included, up to benchstat's limits (go-moremath's `UDist`).
"""

import math
import statistics
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

# Below these sizes benchstat gives no interval (6) and cannot reach alpha 0.05 (4).
MIN_CI_SAMPLES = 6
MIN_TEST_SAMPLES = 4
# The exact U distribution is used up to these sizes a side, benchstat's (go-moremath) limits.
EXACT_LIMIT = 50
EXACT_TIES_LIMIT = 25


def finite(values: Sequence[float], what: str = "a sample") -> Sequence[float]:
    """`values` unchanged; ValueError when one is NaN or infinite (no order, no rank, no median)."""
    bad = [v for v in values if not math.isfinite(v)]
    if bad:
        raise ValueError(f"{what} has a NaN or infinite value ({bad[0]!r}): no statistic")
    return values


def median(values: Sequence[float]) -> float:
    """The sample median (the mean of the middle two for an even count)."""
    if not values:
        raise ValueError("median of an empty sample")
    return float(statistics.median(finite(values)))


def median_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """The confidence interval of the median from binomial order statistics, None below 6 values."""
    n = len(finite(values))
    if n < MIN_CI_SAMPLES:
        return None
    lo, hi = quantile_orders(n, Fraction(1, 2), confidence)
    if lo < 1 or hi > n:
        return None
    ordered = sorted(values)
    return float(ordered[lo - 1]), float(ordered[hi - 1])


def quantile_orders(n: int, q: Fraction, confidence: float = 0.95) -> tuple[int, int]:
    """The 1-based order statistics (lo, hi) bounding the q-quantile with at least `confidence`.

    The count K of sample values below the population quantile is Binomial(n, q), and
    K = k puts the quantile between the k-th and (k+1)-th smallest values. Starting at the
    mode, we add the likelier neighbouring k first (the left one on a tie, as benchstat
    does) until the covered probability reaches `confidence`; covering k in [lo, hi) means
    the quantile lies in [x(lo), x(hi)]. Orders outside 1..n mean an unbounded side.
    Weights are C(n, k) a^k b^(n-k) for q = a / (a + b), in integers: exact at any n.
    """
    if not 0 < q < 1 or not 0 < confidence < 1:
        raise ValueError(f"need 0 < q < 1 and 0 < confidence < 1, not {q}, {confidence}")
    a, b = q.numerator, q.denominator - q.numerator
    want = Fraction(str(confidence))  # 0.95 is 19/20, not the float just below it
    target = want.numerator * (a + b) ** n
    lo = max(math.ceil((n + 1) * q) - 1, 0)
    hi = lo + 1
    weight = math.comb(n, lo) * a**lo * b ** (n - lo)
    covered, left, right = weight, _step_down(weight, n, lo, a, b), _step_up(weight, n, lo, a, b)
    while covered * want.denominator < target and (left or right):
        if left >= right:
            covered, lo = covered + left, lo - 1
            left = _step_down(left, n, lo, a, b)
        else:
            covered, hi = covered + right, hi + 1
            right = _step_up(right, n, hi - 1, a, b)
    return lo, hi


def _step_down(weight: int, n: int, k: int, a: int, b: int) -> int:
    """The weight of k - 1 from the weight of k (0 below k = 0)."""
    return weight * k * b // ((n - k + 1) * a) if k > 0 and weight else 0


def _step_up(weight: int, n: int, k: int, a: int, b: int) -> int:
    """The weight of k + 1 from the weight of k (0 above k = n)."""
    return weight * (n - k) * a // ((k + 1) * b) if k < n and weight else 0


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> float:
    """The two-sided Mann-Whitney U p-value, computed as benchstat computes it.

    Exact below the size limits (ties included: the distribution of U given the tie
    pattern, counted by dynamic programming); beyond them, the normal approximation with
    tie and continuity corrections. Identical samples give 1.
    """
    if not a or not b:
        raise ValueError("the U test needs at least one value a side")
    groups = tie_groups(a, b)
    if len(groups) == 1:
        return 1.0  # every value equal: nothing to tell apart
    n1, n2 = len(a), len(b)
    twice_u1 = twice_rank_sum(groups) - n1 * (n1 + 1)
    if twice_u1 == n1 * n2:  # U1 == U2: the whole distribution, p = 1
        return 1.0
    tied = any(total > 1 for total, _ in groups)
    limit = EXACT_TIES_LIMIT if tied else EXACT_LIMIT
    if max(n1, n2) <= limit:
        twice_small = min(twice_u1, 2 * n1 * n2 - twice_u1)
        return min(1.0, 2 * _u_cdf(groups, n1, twice_small))
    return _normal_p(groups, n1, n2, twice_u1 / 2)


def tie_groups(a: Sequence[float], b: Sequence[float]) -> list[tuple[int, int]]:
    """The merged sample's runs of equal values, in order: (how many, how many from `a`)."""
    finite(a, "the first sample"), finite(b, "the second sample")  # NaN == NaN is false
    merged = sorted([(v, 1) for v in a] + [(v, 0) for v in b])
    groups: list[tuple[int, int]] = []
    i = 0
    while i < len(merged):
        j = i
        while j < len(merged) and merged[j][0] == merged[i][0]:
            j += 1
        groups.append((j - i, sum(flag for _, flag in merged[i:j])))
        i = j
    return groups


def twice_rank_sum(groups: list[tuple[int, int]]) -> int:
    """Twice the sum of `a`'s midranks (ties share the mean of their ranks)."""
    total, first = 0, 1
    for count, from_a in groups:
        total += from_a * (2 * first + count - 1)  # twice the midrank of ranks first..first+count-1
        first += count
    return total


def _u_cdf(groups: list[tuple[int, int]], n1: int, twice_u: int) -> float:
    """P(U1 <= U) given the tie pattern: the share of the C(N, n1) ways to pick `a`'s ranks.

    A pick takes r of a run of t tied values (C(t, r) ways) and adds r times twice their
    midrank to 2 * R1; U1 = R1 - n1 (n1 + 1) / 2. ways[j, s] counts picks of j values with
    2 * R1 = s, for s up to the bound that matters.
    """
    bound = twice_u + n1 * (n1 + 1)
    ways = np.zeros((n1 + 1, bound + 1))
    ways[0, 0] = 1.0
    first = 1
    for count, _ in groups:
        weight = 2 * first + count - 1
        step = np.zeros_like(ways)
        for r in range(min(count, n1) + 1):
            shift = r * weight
            if shift > bound:
                break
            step[r:, shift:] += math.comb(count, r) * ways[: n1 + 1 - r, : bound + 1 - shift]
        ways = step
        first += count
    return float(ways[n1].sum()) / math.comb(first - 1, n1)


def _normal_p(groups: list[tuple[int, int]], n1: int, n2: int, u1: float) -> float:
    """benchstat's normal approximation, with the tie and the continuity corrections."""
    total = n1 + n2
    ties = sum(t**3 - t for t, _ in groups)
    sigma = math.sqrt(n1 * n2 * ((total + 1) - ties / (total * (total - 1))) / 12)
    centred = u1 - n1 * n2 / 2
    centred -= math.copysign(0.5, centred)
    return math.erfc(abs(centred / sigma) / math.sqrt(2))


def samples_to_detect(alpha: float) -> int:
    """The fewest values a side with which the U test can reach `alpha` (benchstat's rule)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}")
    n = 1
    while 2 / math.comb(2 * n, n) > alpha:
        n += 1
    return n


def min_p(n1: int, n2: int) -> float:
    """The smallest two-sided p the exact U test can give with n1 and n2 values (no ties)."""
    if n1 < 1 or n2 < 1:
        return 1.0
    return min(1.0, 2 / math.comb(n1 + n2, n1))


def holm(ps: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the order given: reject where adjusted <= alpha.

    The k-th smallest of m p-values is multiplied by m - k + 1, capped at 1 and made
    non-decreasing in that order; it controls the chance of any false alarm among the m at
    alpha, whatever their dependence.
    """
    finite(ps, "the p-values")
    m = len(ps)
    adjusted = [0.0] * m
    running = 0.0
    for k, i in enumerate(sorted(range(m), key=lambda j: ps[j])):
        running = max(running, min(1.0, (m - k) * ps[i]))
        adjusted[i] = running
    return adjusted
