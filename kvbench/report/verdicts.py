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
interval: it is judged against its repeats' spread (`kvbench.results.compare`).

`kvbench.results.compare` keeps benchstat's own verdict (the Mann-Whitney U test), which
`tests/results/test_stats.py` checks against benchstat's tables; its p-value is shown
beside the word, and the regression gate (`kvbench.results.gate`) adds the test to its
interval. The word itself follows the interval alone.
"""

import dataclasses
from dataclasses import dataclass

from kvbench.measure.floor import at_floor
from kvbench.report.article import floor_said
from kvbench.report.formatting import number, percent
from kvbench.results.compare import Comparison
from kvbench.results.metrics import metric
from kvbench.results.resample import unpaired_ratio
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
    """The ratio of medians; its interval from each side's trials resampled on its own."""
    value, ci = unpaired_ratio(new.values, old.values, resamples=RESAMPLES)
    n = min(new.n, old.n)
    return Verdict(value, ci, "unpaired", n, words(name, value, ci, n))


def judged(
    row: Comparison,
    ratios: Summary | None = None,
    floor: dict | None = None,
    family: int = 1,
) -> Comparison:
    """The row with its word by the rule: from `ratios` (the run's per-round new / old) where
    the run paired the two, else from its own interval of the change (a relative row's
    bootstrap), else unpaired. Rows the rule does not judge come back as they were: one side
    missing, a diagnostic, an exact count, a zero median (no ratio)."""
    old, new = row.old, row.new
    if old is None or new is None or not row.verdict or row.exact:
        return row
    if metric(row.metric).diagnostic or old.median <= 0 or new.median <= 0:
        return row
    percentile = PERCENTILE.get(row.metric)
    if floor and percentile and any(at_floor(s.median, floor, percentile) for s in (old, new)):
        said = floor_said(floor, percentile)
        return dataclasses.replace(row, verdict="same", change_ci=None,
                                   warnings=(*row.warnings, said))  # fmt: skip
    if ratios is not None:
        found = paired(ratios, row.metric, family)
    elif row.change_ci is not None:
        n = min(old.n, new.n)
        value = new.median / old.median
        said = words(row.metric, value, row.change_ci, n)
        found = Verdict(value, row.change_ci, "bootstrap of each run against its base", n, said)
    else:
        found = unpaired(new, old, row.metric)
    improved = (found.value > 1) == (row.better == "higher")
    verdict = "same" if not found.named else "better" if improved else "worse"
    kept = (*row.warnings, row.basis) if row.basis else row.warnings  # a relative row's basis
    return dataclasses.replace(row, verdict=verdict, change_ci=found.ci, warnings=kept,
                               basis=rule(found))  # fmt: skip


def rule(found: Verdict) -> str:
    """The footnote a judged row cites: which interval its word comes from."""
    return (f"the word: the change's {found.level * 100:.3g}% interval ({found.basis}) "
            "excludes no change, else ~; p (Mann-Whitney U) is shown, not deciding")  # fmt: skip


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
