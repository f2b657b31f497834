"""Latency percentiles of requests, never of trials: nearest rank, with order-statistic intervals.

One definition everywhere (tables, the summary, the plots): numpy's `inverted_cdf`, the
nearest-rank percentile of HdrHistogram and wrk. A percentile is reported only where at
least MIN_BEYOND measured requests lie beyond it (p99.9 needs 10,000 requests), with the
95% interval from binomial order statistics (`stats.quantile_orders`).
"""

import math
from fractions import Fraction

import numpy as np

from kvbench.load.summary import MIN_BEYOND, PERCENTILES, beyond, percentile_ms, qualifies
from kvbench.results.stats import quantile_orders

__all__ = ["METHOD", "MIN_BEYOND", "PERCENTILES", "beyond", "estimate", "label", "percentile_ms",
           "pooled", "qualifies", "requests_needed", "trial_percentiles"]  # fmt: skip
METHOD = "nearest rank (numpy inverted_cdf), trials pooled; 95% interval from order statistics"


def label(name: str) -> str:
    """`p999` -> `p99.9`."""
    return f"p{PERCENTILES[name]}"


def requests_needed(percent: str) -> int:
    """The fewest requests with which the percentile qualifies: 1,000 for p99."""
    n = math.ceil(MIN_BEYOND / (1 - Fraction(percent) / 100))
    while not qualifies(n, percent):
        n += 1
    while qualifies(n - 1, percent):
        n -= 1
    return n


def estimate(sorted_ns: np.ndarray, percent: str) -> dict:
    """One percentile of sorted latencies (ns) in ms, its interval and the count beyond it."""
    n = sorted_ns.size
    lo, hi = quantile_orders(n, Fraction(percent) / 100)
    return {
        "ms": percentile_ms(sorted_ns, percent),
        "ci_low": float(sorted_ns[lo - 1]) / 1e6 if lo >= 1 else None,
        "ci_high": float(sorted_ns[hi - 1]) / 1e6 if hi <= n else None,
        "beyond": beyond(n, percent),
    }


def pooled(latencies_ns: np.ndarray, offered_rate: float | None = None) -> dict:
    """Every qualifying percentile of one service's requests, as summary.json stores it."""
    values = np.sort(np.asarray(latencies_ns, dtype=np.int64))
    found: dict = {"n": int(values.size), "offered_rate": offered_rate}
    for name, percent in PERCENTILES.items():
        if qualifies(values.size, percent):
            found[name] = estimate(values, percent)
    return found


def trial_percentiles(latencies_ns: np.ndarray) -> dict[str, float]:
    """A single trial's qualifying percentiles (ms) by name: p50, p90 and p99 at most."""
    values = np.asarray(latencies_ns)
    return {
        name: percentile_ms(values, PERCENTILES[name])
        for name in ("p50", "p90", "p99")
        if qualifies(values.size, PERCENTILES[name])
    }
