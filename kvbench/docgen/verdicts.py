"""The docs' one verdict rule (docs/05-compare.md#one-rule-for-the-words): the words that
compare two services, with the ratio and its 95% interval that earn them.

The ratio is new over old: the median of the per-round ratios with their interval where
the run paired the two (each round measured both back to back), else the ratio of the two
medians with an interval from resampling each side's trials on its own. The change is
named only when its interval excludes 1; otherwise the words are "can't tell at n=N". In a
family of k comparisons read together (the ladder's k steps), each paired interval is taken
at 1 - 0.05/k (Bonferroni), so that all k together name a change that is not there at most
one time in twenty; with 10 rounds and 14 steps that is "every round agrees". A
latency percentile at the floor the run measured (`kvbench/measure/floor.py`) on either
side is named by neither word; a run without a floor makes no floor claim. An exact count
(instructions, allocations) has no interval: it is judged as `kvbench compare` judges it,
against its repeats' spread.
"""

from dataclasses import dataclass

import numpy as np

from kvbench import KvbenchError
from kvbench.docgen.sources import Sources
from kvbench.measure.floor import at_floor
from kvbench.report.article import floor_said
from kvbench.report.formatting import number, percent
from kvbench.results.compare import compare_samples
from kvbench.results.metrics import metric
from kvbench.results.resample import interval
from kvbench.results.stats import median_ci
from kvbench.results.summary import Summary

ALPHA = 0.05  # the chance, for one comparison or a whole family, of naming a change not there
RESAMPLES = 10_000  # as compare's bootstrap of a ratio of medians
# The words for (better, worse) by the metric's unit; any other unit says lower/higher.
WORDS = {"req/s": ("faster", "slower"), "ns/op": ("faster", "slower"),
         "us/req": ("cheaper", "costlier"), "ms": ("lower", "higher"),
         "instr/op": ("fewer", "more"), "allocs/op": ("fewer", "more"),
         "count": ("fewer", "more"), "B/op": ("fewer", "more")}  # fmt: skip
# A latency metric's percentile, for its floor: the per-trial and the pooled ones.
PERCENTILE = {"http_trial_p50_ms": "p50", "http_trial_p99_ms": "p99", "http_service_p50_ms": "p50",
              "http_service_p99_ms": "p99"}  # fmt: skip


@dataclass(frozen=True)
class Verdict:
    """A ratio (new / old), its interval, how it was made, n, and the words it earns."""

    value: float
    ci: tuple[float, float] | None
    basis: str  # "paired", "unpaired", "rounds resampled", "exact"
    n: int
    words: str
    level: float = 1 - ALPHA  # the interval's confidence

    def said(self, shown: str, span: str) -> str:
        basis = f"{self.level * 100:.3g}% CI {span}, {self.basis}" if self.ci else self.basis
        counted = "" if "n=" in self.words else f", n={self.n}"
        return f"{self.words}: {shown} ({basis}{counted})"


def ratio_of(sources: Sources, part: str, new: str, old: str, name: str) -> Verdict:
    """The verdict on one metric of `new` against `old` in one part of the results."""
    found = sources.typed(part).ratio(new, old, name)
    if metric(name).exact:
        return _exact(sources, part, new, old, name)
    if found is not None:
        value, ci, basis, n = found.ratios.median, found.ratios.ci, "paired", found.ratios.n
    else:
        value, ci, n = _unpaired(sources.stat(part, new, name), sources.stat(part, old, name))
        basis = "unpaired"
    floor = _floor(sources, part, new, old, PERCENTILE.get(name), name)
    return Verdict(value, ci, basis, n, floor or words(name, value, ci, n))


def family_verdict(ratios: Summary, name: str, family: int) -> Verdict:
    """Per-round ratios judged as one of `family` comparisons: the median's order-statistic
    interval at 1 - ALPHA/family, as the run's own 95% one is at 1 - ALPHA."""
    level = 1 - ALPHA / family
    ci = median_ci(ratios.values, level)
    basis = f"paired, one of {family} comparisons (Bonferroni)"
    said = words(name, ratios.median, ci, ratios.n)
    return Verdict(ratios.median, ci, basis, ratios.n, said, level)


def tail_of(sources: Sources, part: str, new: str, old: str, percentile: str) -> Verdict:
    """The verdict on a pooled percentile (`p99`): whole rounds resampled, both sides together."""
    found = sources.results_set(part)
    pair = found.latency_ratios(old, new, (percentile,)).get(percentile)
    if pair is None:
        raise KvbenchError(f"{part} holds no pooled {percentile} of both {new!r} and {old!r}")
    value, ci = pair
    n = len(found.trial_latencies(new) or [])
    floor = _floor(sources, part, new, old, percentile, None)
    return Verdict(value, ci, "rounds resampled", n, floor or words("ms", value, ci, n, unit="ms"))


def words(name: str, value: float, ci: tuple[float, float] | None, n: int, unit: str = "") -> str:
    """Better or worse by name when the interval excludes 1; else can't tell at n."""
    if ci is None or ci[0] <= 1 <= ci[1]:
        return f"can't tell at n={n}"
    better, worse = WORDS.get(unit or metric(name).unit, ("lower", "higher"))
    if unit == "ms" or metric(name).better == "lower":
        return better if value < 1 else worse
    return better if value > 1 else worse


def _unpaired(new: Summary, old: Summary) -> tuple[float, tuple[float, float] | None, int]:
    """The ratio of medians; its interval from each side's trials resampled on its own."""
    rng = np.random.default_rng(0)
    draws = []
    for side in (new, old):
        values = np.asarray(side.values)
        picks = rng.integers(0, values.size, size=(RESAMPLES, values.size))
        draws.append(np.median(values[picks], axis=1))
    value = new.median / old.median
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = draws[0] / draws[1]
    n = min(new.n, old.n)
    return value, interval(value, ratios[np.isfinite(ratios)], n), n


def _exact(sources: Sources, part: str, new: str, old: str, name: str) -> Verdict:
    top, bottom = sources.stat(part, new, name), sources.stat(part, old, name)
    row = compare_samples(bottom, top, 0.05, "", name)
    better, worse = WORDS.get(metric(name).unit, ("lower", "higher"))
    said = {"better": better, "worse": worse}.get(row.verdict, "no change beyond its repeats")
    return Verdict(top.median / bottom.median, None, "exact", min(top.n, bottom.n), said)


def _floor(sources: Sources, part: str, new: str, old: str, percentile, name) -> str:
    """ "at the floor" when either side's percentile is at the run's floor; "" otherwise."""
    floor = sources.typed(part).extra.get("floor")
    if not percentile or not floor:
        return ""
    if name:
        sides = [sources.stat(part, s, name).median for s in (new, old)]
    else:
        latency = sources.results_set(part).latency
        sides = [latency[s][percentile]["ms"] for s in (new, old)]
    if any(at_floor(ms, floor, percentile) for ms in sides):
        return floor_said(floor, percentile)
    return ""


def as_ratio(found: Verdict) -> str:
    """`faster: 1.07x (95% CI 1.03 to 1.18x, paired, n=10)`."""
    span = f"{number(found.ci[0])} to {number(found.ci[1])}x" if found.ci else ""
    return found.said(f"{number(found.value)}x", span)


def as_change(found: Verdict) -> str:
    """`faster: +6.7% (95% CI +3.1 to +18%, paired, n=10)`."""
    span = ""
    if found.ci:
        span = f"{percent((found.ci[0] - 1) * 100)} to {percent((found.ci[1] - 1) * 100)}"
    return found.said(percent((found.value - 1) * 100), span)
