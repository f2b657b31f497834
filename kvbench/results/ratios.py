"""The ratio of two services measured in one run, per metric: what carries over between machines.

The run's paired ratios where it recorded them (summary.json's `paired`: per round, the
two services back to back), else the ratio of the two medians. Readers get a `Ratio`
either way and never look at which it was but to say so.
"""

from dataclasses import dataclass

from kvbench.results.resultset import ResultSet
from kvbench.results.summary import Summary


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
    """`"paired": {NEW: {"vs": OLD, "metrics": {NAME: {"values": [...], ...}}}}`."""
    entry = (results.summary.get("paired") or {}).get(new)
    if not isinstance(entry, dict) or entry.get("vs") != old:
        return None
    stored = (entry.get("metrics") or {}).get(name)
    if not isinstance(stored, dict) or not stored.get("values"):
        return None
    return Summary.of(stored["values"])
