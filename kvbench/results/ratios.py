"""The ratio of two services measured in one run, per metric: what carries over between machines.

The run's paired ratios where it recorded them (summary.json's `paired`: per round, the
two services back to back), else the ratio of the two medians. Readers get a `Ratio`
either way and never look at which it was but to say so.

`paired_entry` writes one metric of summary.json's `paired`: the median of the per-round
ratios with its order-statistic interval, and beside it the unpaired ratio of the two
medians (each side's trials resampled alone), the within-round correlation of the two
sides, and which interval is narrower. Pairing cancels what the two services of a round
share (the machine's drift): it narrows the interval when their values move together
(positive correlation) and cannot when they do not (none, or negative).
"""

import math
from dataclasses import dataclass

from kvbench.results.resample import log_correlation, unpaired_ratio
from kvbench.results.resultset import ResultSet
from kvbench.results.summary import Summary

UNPAIRED = (
    "median / median; 95% interval from each side's trials resampled independently "
    "(2,000 resamples, seed 0), the expanded percentile interval of the resampled ratios "
    "(levels widened by sqrt(n/(n-1)) x Student's t, n-1 df), n the fewer side's trials"
)


@dataclass(frozen=True)
class Ratio:
    value: float
    interval: tuple[float, float] | None = None  # 95%, paired ratios only
    paired: bool = False


def ratio(results: ResultSet, new: str, old: str, name: str) -> Ratio | None:
    """`new`'s metric over `old`'s in one run; None when either lacks it or `old`'s is 0."""
    paired = _paired(results, new, old, name)
    if paired is not None:
        return Ratio(paired.median, paired.ci, paired=True)
    top, bottom = (results.services.get(s, {}).get(name) for s in (new, old))
    if top is None or bottom is None or bottom.median == 0:
        return None
    return Ratio(top.median / bottom.median)


def _paired(results: ResultSet, new: str, old: str, name: str) -> Summary | None:
    """The run's per-round ratios of `new` to `old` for one metric, as the model read them."""
    found = results.run.ratio(new, old, name) if results.run else None
    return found.ratios if found else None


def paired_entry(pairs: list[tuple[float, float]]) -> dict:
    """One metric of summary.json's "paired" from its (service, base) values round by round.

    `{"median", "ci_low", "ci_high", "n", "values"}` of the per-round ratios, plus
    `"unpaired": {"ratio", "ci_low", "ci_high", "n", "method"}` (None when a side has a
    value <= 0), `"correlation"` (Pearson's r of the two sides' log values across rounds,
    None when undefined) and `"narrower"` ("paired", "unpaired", or None without both
    intervals).
    """
    top, bottom = [a for a, _ in pairs], [b for _, b in pairs]
    ratios = Summary.of([a / b for a, b in pairs])
    entry = ratios.to_json()
    positive = min(top + bottom) > 0
    unpaired = None
    if positive:
        value, ci = unpaired_ratio(top, bottom)
        low, high = ci or (None, None)
        unpaired = {"ratio": value, "ci_low": low, "ci_high": high, "n": len(top),
                    "method": UNPAIRED}  # fmt: skip
    entry["unpaired"] = unpaired
    entry["correlation"] = log_correlation(top, bottom) if positive else None
    entry["narrower"] = narrower(ratios.ci, _ci(unpaired))
    return entry


def _ci(entry: dict | None) -> tuple[float, float] | None:
    if entry is None or entry.get("ci_low") is None or entry.get("ci_high") is None:
        return None
    return entry["ci_low"], entry["ci_high"]


def narrower(paired: tuple[float, float] | None, unpaired: tuple[float, float] | None):
    """Which interval is narrower as a factor (high / low): "paired", "unpaired", or None."""
    if paired is None or unpaired is None or min(*paired, *unpaired) <= 0:
        return None
    width = [math.log(high / low) for low, high in (paired, unpaired)]
    return "paired" if width[0] <= width[1] else "unpaired"
