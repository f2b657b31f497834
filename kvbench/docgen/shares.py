"""The arithmetic of a ladder's columns: how many times better, and each rung's share.

A pair is a value with its conservative bounds (None where an interval is missing): the
bounds take the 95% intervals of the medians involved at their opposite extremes (a share
divides by the whole saving of the medians). The formulas are in `rungs`.
"""

from kvbench.report.formatting import number
from kvbench.results.summary import Summary

Pair = tuple[float, tuple[float, float] | None]


def bounds(low: float, high: float) -> tuple[float, float]:
    return (low, high) if low <= high else (high, low)


def cumulative(first: Summary, this: Summary, better: str) -> Pair | str:
    """How many times better than the first rung, with bounds from both intervals.

    A cost that fell to zero, or grew from zero, has no ratio: it is said in words.
    """
    top, bottom = (this, first) if better == "higher" else (first, this)
    if top.median == bottom.median == 0:
        return "0 at both"
    if bottom.median == 0:
        return "to 0" if better == "lower" else "from 0"
    if top.median == 0:
        return "from 0" if better == "lower" else "to 0"
    value = top.median / bottom.median
    if top.ci and bottom.ci and bottom.ci[0] > 0:
        return value, bounds(top.ci[0] / bottom.ci[1], top.ci[1] / bottom.ci[0])
    return value, None


def cost(stat: Summary, better: str) -> Pair:
    """The cost per request a metric stands for: itself, or 1/x where higher is better."""
    if better == "lower":
        return stat.median, stat.ci
    low, high = stat.ci or (0.0, 0.0)
    return 1 / stat.median, (1 / high, 1 / low) if stat.ci and low > 0 else None


def share(prev: Pair, this: Pair, saving: float) -> Pair:
    """The part of the whole saving (first cost - last cost) this rung made, in percent."""
    value = (prev[0] - this[0]) / saving * 100
    if prev[1] and this[1]:
        low = (prev[1][0] - this[1][1]) / saving * 100
        high = (prev[1][1] - this[1][0]) / saving * 100
        return value, bounds(low, high)
    return value, None


def times(pair: Pair | str, better: str) -> str:
    """`2.5x`, `2.5x less`, or for a cost that grew, `1.4x more` rather than `0.714x less`."""
    if isinstance(pair, str):
        return pair  # to or from zero
    value, rng = pair
    word = "" if better == "higher" else " less"
    if better == "lower" and value < 1:
        inverted = bounds(1 / rng[0], 1 / rng[1]) if rng and rng[0] > 0 else None
        value, rng, word = 1 / value, inverted, " more"
    return f"{number(value)}x{word}" + (f" ({number(rng[0])} to {number(rng[1])})" if rng else "")
