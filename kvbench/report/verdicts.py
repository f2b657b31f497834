"""The one verdict rule (docs/05-compare.md#one-rule-for-the-words): every word that compares
two services, in `kvbench compare`'s tables, the reports and the docs, comes from here, with
the ratio and the interval that earn it.

The ratio is new over old: the median of the per-round ratios with their interval where
the run paired the two (each round measured both back to back), else the ratio of the two
medians with an interval from resampling each side's trials on its own. The change is
named only when its interval excludes 1; otherwise the words are "can't tell at n=N" (`~`
in a table). In a family of k comparisons read together (the ladder's k steps), each
paired interval is taken at 1 - 0.05/k (Bonferroni), so that all k together name a change
that is not there at most one time in twenty. A latency percentile at the floor the run
measured (`kvbench/measure/floor.py`) on either side is named by neither word; a run
without a floor makes no floor claim. An exact count (instructions, allocations) has no
interval: it is judged against its repeats' spread (`kvbench.results.compare`); one counted
once on either side has no repeats, and no word.

`kvbench.results.compare` keeps benchstat's own verdict (the Mann-Whitney U test), which
`tests/results/test_stats.py` checks against benchstat's tables; its p-value is shown
beside the word, and the regression gate (`kvbench.results.gate`) adds the test to its
interval. The word itself follows the interval alone.
"""

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from kvbench.measure.floor import at_floor
from kvbench.report.article import floor_said
from kvbench.report.formatting import number, percent
from kvbench.results.compare import Comparison
from kvbench.results.metrics import metric
from kvbench.results.resample import SEED, median_draws, tail_level, unpaired_ratio
from kvbench.results.stats import MIN_CI_SAMPLES, median_ci
from kvbench.results.summary import Summary

ALPHA = 0.05  # the chance, for one comparison or a whole family, of naming a change not there
# The words for (better, worse) by the metric's unit; any other unit says lower/higher.
WORDS = {"req/s": ("faster", "slower"), "ns/op": ("faster", "slower"),
         "us/req": ("cheaper", "costlier"), "ms": ("lower", "higher"),
         "instr/op": ("fewer", "more"), "allocs/op": ("fewer", "more"),
         "count": ("fewer", "more"), "B/op": ("fewer", "more")}  # fmt: skip
# A latency metric's percentile, for its floor: the per-trial and the pooled ones.
PERCENTILE = {"http_trial_p50_ms": "p50", "http_trial_p99_ms": "p99", "http_service_p50_ms": "p50",
              "http_service_p99_ms": "p99"}  # fmt: skip

ONCE = "counted once: no repeat shows whether the count repeats, so no word"
COUNTED_ONCE = "once"  # the verdict of such a row: neither a word nor `~`


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

    @property
    def named(self) -> bool:
        """Whether the interval excludes no change (a word, not "can't tell")."""
        return self.ci is not None and not self.ci[0] <= 1 <= self.ci[1]


def words(name: str, value: float, ci: tuple[float, float] | None, n: int, unit: str = "") -> str:
    """Better or worse by name when the interval excludes 1; else can't tell at n."""
    if ci is None or ci[0] <= 1 <= ci[1]:
        return f"can't tell at n={n}"
    better, worse = WORDS.get(unit or metric(name).unit, ("lower", "higher"))
    if unit == "ms" or metric(name).better == "lower":
        return better if value < 1 else worse
    return better if value > 1 else worse


def paired(ratios: Summary, name: str, family: int = 1) -> Verdict:
    """Per-round ratios (new / old): their median, and its order-statistic interval at
    1 - ALPHA/family (the run's own 95% one when family is 1)."""
    level = 1 - ALPHA / family
    ci = ratios.ci if family == 1 else median_ci(ratios.values, level)
    basis = "paired" if family == 1 else f"paired, one of {family} comparisons: Bonferroni"
    return Verdict(ratios.median, ci, basis, ratios.n, words(name, ratios.median, ci, ratios.n),
                   level)  # fmt: skip


def unpaired(new: Summary, old: Summary, name: str) -> Verdict:
    """The ratio of medians; its interval from each side's trials resampled on its own (as
    the regression gate's: `resample.unpaired_ratio`)."""
    value, ci = unpaired_ratio(new.values, old.values)
    n = min(new.n, old.n)
    return Verdict(value, ci, "unpaired", n, words(name, value, ci, n))


def difference(new: Summary, old: Summary) -> tuple[float, float] | None:
    """The 95% interval of new's median minus old's, each side's trials resampled on its own:
    the rule's interval where a value of 0 leaves no ratio (a count that can be 0)."""
    n = min(new.n, old.n)
    if n < MIN_CI_SAMPLES:
        return None
    rng = np.random.default_rng(SEED)
    draws = median_draws(new.values, rng) - median_draws(old.values, rng)
    tail = tail_level(n)
    low, high = np.quantile(draws, [tail, 1 - tail], method="inverted_cdf")
    return float(low), float(high)


def floor_word(sides_ms: Iterable[float], floor: dict | None, percentile: str | None) -> str:
    """The floor's words where either side's percentile is at the run's floor, else ""."""
    if not floor or not percentile or not any(at_floor(ms, floor, percentile) for ms in sides_ms):
        return ""
    return floor_said(floor, percentile)


def judged(
    row: Comparison,
    ratios: Summary | None = None,
    floor: dict | None = None,
    family: int = 1,
) -> Comparison:
    """The row with its word by the rule, and the change it shows made the one the word
    judges: the per-round ratios' median and interval where the run paired the two
    (`ratios`, new / old), else the row's own interval of the change (a relative row's
    bootstrap), else unpaired; where a value is 0 (no ratio), the difference of the medians.
    Rows the rule does not judge come back as they were: a side missing, a diagnostic, an
    exact count (judged against its repeats)."""
    old, new = row.old, row.new
    if row.exact and old is not None and new is not None and min(old.n, new.n) < 2:
        return dataclasses.replace(row, verdict=COUNTED_ONCE, basis=ONCE)
    if old is None or new is None or not row.verdict or row.exact or metric(row.metric).diagnostic:
        return row
    warnings = tuple(w for w in row.warnings if "to detect a difference" not in w)  # the U test's
    kept = (*warnings, row.basis) if row.basis else warnings  # a relative row's basis
    floor_said_ = floor_word((old.median, new.median), floor, PERCENTILE.get(row.metric))
    if floor_said_:
        return dataclasses.replace(row, verdict="same", change_ci=None,
                                   warnings=(*warnings, floor_said_))  # fmt: skip
    if min(old.values) <= 0 or min(new.values) <= 0:
        span = difference(new, old)
        moved = span is not None and not span[0] <= 0 <= span[1]
        basis = ("the word: the 95% interval of the difference of the medians (a value of 0 "
                 "leaves no ratio) excludes 0, else ~")  # fmt: skip
        return _worded(row, moved, new.median > old.median, None, kept, basis)
    if ratios is not None:
        found = paired(ratios, row.metric, family)
        row = dataclasses.replace(row, delta_pct=(found.value - 1) * 100)  # the paired change
    elif row.change_ci is not None:
        n = min(old.n, new.n)
        value = new.median / old.median
        said = words(row.metric, value, row.change_ci, n)
        found = Verdict(value, row.change_ci, "bootstrap of each run against its base", n, said)
    else:
        found = unpaired(new, old, row.metric)
    return _worded(row, found.named, found.value > 1, found.ci, kept, rule(found))


def _worded(row: Comparison, moved: bool, higher: bool, ci, warnings: tuple, basis: str):
    improved = higher == (row.better == "higher")
    verdict = "same" if not moved else "better" if improved else "worse"
    return dataclasses.replace(row, verdict=verdict, change_ci=ci, warnings=warnings, basis=basis)


def rule(found: Verdict) -> str:
    """The footnote a judged row cites: which interval its word comes from."""
    if found.ci is None:  # too few values (under 6), or too few for a family's level
        return (f"no {found.level * 100:.3g}% interval of the change from n={found.n}, "
                "so no word: ~")  # fmt: skip
    return (f"the word: the change's {found.level * 100:.3g}% interval ({found.basis}) "
            "excludes 1 (no change), else ~; p, beside it, decides nothing")  # fmt: skip


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
