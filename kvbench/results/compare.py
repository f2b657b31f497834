"""benchstat for this project: two sides of each metric, the change of the medians, the test.

Compare two services of one run, or the same services across two runs; the rows go to
`kvbench.report.tables` to be printed, and `kvbench.results.gate` judges them. Across two runs,
`relative_rows` compares each service relative to a base service of its own run: by the
per-round paired ratios where both runs recorded them, otherwise by a bootstrap of the
ratio of medians (so the base's own uncertainty is carried, not divided away).
"""

import statistics
from dataclasses import dataclass

import numpy as np

from kvbench.results.metrics import METRICS, metric
from kvbench.results.resample import interval
from kvbench.results.resultset import Metrics, ResultSet
from kvbench.results.stats import mann_whitney, samples_to_detect
from kvbench.results.summary import Summary

# The article's own table: throughput, in-process cost, allocations, tail latency, GC.
# (Runs that pool their latencies show the pooled percentiles instead of http_p99_ms.)
ARTICLE_METRICS = (
    "http_tps",
    "asgi_ns_per_op",
    "asgi_instructions_per_op",
    "asgi_allocs_per_op",
    "asgi_bytes_per_op",
    "http_p99_ms",
    "gc_pause_max_ms",
)
PAIRED = "paired: the median of per-round ratios (each round measures both back to back)"
BOOTSTRAP = (
    "bootstrap of the ratio of medians (10,000 resamples of each side and its base; interval: "
    "the resampled ratios' percentiles, levels widened by sqrt(n/(n-1)) x Student's t, n-1 df)"
)
BOOTSTRAP_ROUNDS = 10_000


@dataclass
class Comparison:
    """One metric compared: both sides, the change in percent, the p-value and a verdict."""

    group: str
    metric: str
    unit: str
    better: str
    old: Summary | None = None
    new: Summary | None = None
    delta_pct: float | None = None  # None when the old median is 0 (see `from_zero`)
    p: float | None = None
    verdict: str = ""  # better, worse, same (p > alpha, or equal medians), or "" (not compared)
    note: str = ""
    warnings: tuple[str, ...] = ()  # footnotes the tables print, as benchstat's
    basis: str = ""  # how a relative row was tested: PAIRED or BOOTSTRAP
    exact: bool = False  # an exact count, judged against its repeats' spread, not tested
    p_adjusted: float | None = None  # Holm-adjusted over the metrics a gate tested together
    change_ci: tuple[float, float] | None = None  # of new / old, where a bootstrap carried it

    @property
    def evidence(self) -> str:
        """What the verdict rests on, as the tables print it: `p=0.003`, or `exact`."""
        return "exact" if self.exact else f"p={self.p:.3f}"

    @property
    def from_zero(self) -> bool:
        return bool(self.old and self.new and self.old.median == 0 and self.new.median != 0)


def compare_sets(old: Metrics, new: Metrics, alpha: float = 0.05, group: str = "") -> list:
    """One row per metric found on either side, in the order of `kvbench.results.metrics`."""
    names = sorted(set(old) | set(new), key=_metric_order)
    return [compare_samples(old.get(n), new.get(n), alpha, group, n) for n in names]


def _metric_order(name: str) -> tuple[int, str]:
    order = list(METRICS)
    return (order.index(name), "") if name in METRICS else (len(order), name)


def compare_samples(
    old: Summary | None, new: Summary | None, alpha: float, group: str, name: str
) -> Comparison:
    """Compare one metric; a missing side or a unit clash becomes a note."""
    m = metric(name)
    either = old or new
    unit = either.unit if either else m.unit
    row = Comparison(group, name, unit, m.better, old, new)
    if old is None or new is None:
        row.note = "only in old" if new is None else "only in new"
    elif old.unit != new.unit:
        row.old = row.new = None
        row.note = f"units differ ({old.unit} vs {new.unit}); not compared"
    else:
        _judge(row, old, new, alpha)
    return row


# Between two states of the code, an exact count also moves with the memory layout (about
# 0.3% measured for instructions): a smaller change is not called a change.
EXACT_FLOOR_PCT = 0.5
EXACT = (
    f"exact count: a change counts when it exceeds the spread of either side's repeats "
    f"and {EXACT_FLOOR_PCT:g}%"
)


def _judge(row: Comparison, old: Summary, new: Summary, alpha: float) -> None:
    """benchstat's rules: `~` when p > alpha, warned when the sizes could never reach alpha."""
    if metric(row.metric).exact:
        _judge_exact(row, old, new)
        return
    row.p = mann_whitney(old.values, new.values)
    need = samples_to_detect(alpha)
    if row.p > alpha and old.n < need and new.n < need:
        row.warnings = (f"need >= {need} values on each side to detect a difference "
                        f"at alpha {alpha:g}",)  # fmt: skip
    _verdict(row, old.median, new.median, alpha)


def _judge_exact(row: Comparison, old: Summary, new: Summary) -> None:
    """A count that repeats exactly: a change is real when it passes both sides' spread."""
    spread = max(_range_pct(old), _range_pct(new), EXACT_FLOOR_PCT)
    change = abs(new.median - old.median) / abs(old.median) * 100 if old.median else 100.0
    row.exact = True
    row.basis = EXACT  # printed as a footnote, as the paired basis is
    row.p = 0.0 if change > spread else 1.0  # not a test: the rule above, as _verdict reads it
    _verdict(row, old.median, new.median, 0.5)


def _range_pct(side: Summary) -> float:
    return (max(side.values) - min(side.values)) / abs(side.median) * 100 if side.median else 0.0


def _verdict(row: Comparison, old: float, new: float, alpha: float) -> None:
    if old != 0:
        row.delta_pct = (new - old) / abs(old) * 100
    if row.p is None or row.p > alpha or new == old:
        row.verdict = "same"
        return
    # From a zero baseline the change has no percentage, but it has a direction.
    improved = (new > old) == (row.better == "higher")
    row.verdict = "better" if improved else "worse"


def geomean(rows: list[Comparison]) -> tuple[float, float, float] | None:
    """Geomean of the medians per side and its change in percent, over rows both sides have.

    When the rows mix directions, higher-better medians enter as their reciprocal
    (req/s -> s/req) so every factor is a cost and a negative change means cheaper;
    benchstat needs no such rule because it makes one table per unit. Diagnostics (the
    server's busy share, the load generator's CPU) say how a run went, not what it found,
    and stay out.
    """
    usable = [
        r
        for r in rows
        if r.old and r.new and r.old.median > 0 and r.new.median > 0
        and not metric(r.metric).diagnostic
    ]  # fmt: skip
    if not usable:
        return None
    invert = len({r.better for r in usable}) > 1

    def cost(row: Comparison, side: Summary) -> float:
        return 1 / side.median if invert and row.better == "higher" else side.median

    old = statistics.geometric_mean([cost(r, r.old) for r in usable if r.old])
    new = statistics.geometric_mean([cost(r, r.new) for r in usable if r.new])
    return old, new, (new - old) / old * 100


def relative_rows(
    old: ResultSet,
    new: ResultSet,
    base: str,
    services: list[str],
    alpha: float = 0.05,
    names: list[str] | None = None,
) -> list[Comparison]:
    """Each service relative to `base` in its own run, compared across the two runs.

    A machine that is 2x slower today slows both services alike, so the ratio survives
    where the absolute figure does not. Per metric: the per-round paired ratios where both
    runs stored them (tested with Mann-Whitney like any sample), else a bootstrap of the
    ratio of medians, which carries the base's own error instead of dividing by its median
    as if it were exact.
    """
    rows = []
    for service in services:
        if service == base:
            continue
        found = set(old.service(service)) | set(new.service(service))
        for name in sorted(found, key=_metric_order):
            if names and name not in names:
                continue
            rows.append(_relative_row(old, new, base, service, name, alpha))
    return rows


def _relative_row(old: ResultSet, new: ResultSet, base: str, service: str, name: str, alpha):
    unit = f"x {base}"
    if metric(name).exact:  # a count that repeats exactly needs no test here either
        sides = [_sides(run, base, service, name) for run in (old, new)]
        if sides[0] is not None and sides[1] is not None:
            scaled = [_scaled(*pair, unit) for pair in sides if pair]
            return compare_samples(scaled[0], scaled[1], alpha, service, name)
    pairs = [run.paired_ratios(service, base).get(name) for run in (old, new)]
    if pairs[0] is not None and pairs[1] is not None:
        row = compare_samples(pairs[0].with_unit(unit), pairs[1].with_unit(unit), alpha,
                              service, name)  # fmt: skip
        row.basis = PAIRED if row.verdict else ""
        return row
    old_sides, new_sides = _sides(old, base, service, name), _sides(new, base, service, name)
    if old_sides is None or new_sides is None:
        missing = "old" if old_sides is None else "new"
        return Comparison(service, name, unit, metric(name).better,
                          note=f"not in the {missing} run with a non-zero {base}")  # fmt: skip
    return _bootstrap_row(service, name, unit, old_sides, new_sides, alpha)


Sides = tuple[Summary, Summary]  # a service's metric and its base's, in one run


def _sides(run: ResultSet, base: str, service: str, name: str) -> Sides | None:
    this, reference = run.service(service).get(name), run.service(base).get(name)
    if this is None or reference is None or reference.median == 0:
        return None
    return this, reference


def _scaled(this: Summary, reference: Summary, unit: str) -> Summary:
    """A service's values over its base's median: an exact count relative to its base."""
    return Summary.of([v / reference.median for v in this.values], unit)


def _bootstrap_row(
    group: str, name: str, unit: str, old_sides: Sides, new_sides: Sides, alpha: float
) -> Comparison:
    """One metric as a ratio to the base, both runs resampled with their bases."""
    rng = np.random.default_rng(0)  # seeded: the same results give the same table
    old_ratios = _resampled_ratio(rng, *old_sides)
    new_ratios = _resampled_ratio(rng, *new_sides)
    change = new_ratios / old_ratios
    p = min(1.0, 2 * min(float((change <= 1).mean()), float((change >= 1).mean())))
    row = Comparison(group, name, unit, metric(name).better, p=p, basis=BOOTSTRAP)
    row.old = _ratio_summary(old_sides, old_ratios, unit)
    row.new = _ratio_summary(new_sides, new_ratios, unit)
    units = min(side.n for side in (*old_sides, *new_sides))
    finite = change[np.isfinite(change)]
    row.change_ci = interval(row.new.median / row.old.median, finite, units)
    _verdict(row, row.old.median, row.new.median, alpha)
    return row


def _resampled_ratio(rng, this: Summary, reference: Summary) -> np.ndarray:
    def medians(summary: Summary) -> np.ndarray:
        values = np.asarray(summary.values)
        picks = rng.integers(0, values.size, size=(BOOTSTRAP_ROUNDS, values.size))
        return np.median(values[picks], axis=1)

    with np.errstate(divide="ignore", invalid="ignore"):
        return medians(this) / medians(reference)


def _ratio_summary(sides: Sides, ratios: np.ndarray, unit: str) -> Summary:
    """The values over the base's median; the interval is the bootstrap's, not the values':
    widened for few trials as every resampled interval is (`resample.interval`)."""
    this, reference = sides
    finite = ratios[np.isfinite(ratios)]
    scaled = Summary.of([v / reference.median for v in this.values], unit)
    return scaled.with_ci(interval(scaled.median, finite, min(this.n, reference.n)))
