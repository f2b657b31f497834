"""benchstat for this project: two sides of each metric, the change of the medians, the test.

Compare two services of one run, or the same services across two runs; the rows go to
`kvbench.report.tables` to be printed, and the gate reads `regressions`.
"""

import statistics
from dataclasses import dataclass

from kvbench.results.metrics import METRICS, metric
from kvbench.results.resultset import Metrics, ResultSet
from kvbench.results.stats import mann_whitney
from kvbench.results.summary import Summary

# The article's own table: throughput, in-process cost, allocations, tail latency, GC.
ARTICLE_METRICS = (
    "http_tps",
    "asgi_ns_per_op",
    "asgi_allocs_per_op",
    "asgi_bytes_per_op",
    "http_p99_ms",
    "gc_pause_max_ms",
)


@dataclass
class Comparison:
    """One metric compared: both sides, the change in percent, the p-value and a verdict."""

    group: str
    metric: str
    unit: str
    better: str
    old: Summary | None = None
    new: Summary | None = None
    delta_pct: float | None = None
    p: float | None = None
    verdict: str = ""  # better, worse, same (p > alpha), untested (too few values), or ""
    note: str = ""


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


def _judge(row: Comparison, old: Summary, new: Summary, alpha: float) -> None:
    if old.median != 0:
        row.delta_pct = (new.median - old.median) / abs(old.median) * 100
    row.p = mann_whitney(old.values, new.values)
    if row.p is None:
        row.verdict = "untested"
    elif row.p > alpha or not row.delta_pct:
        row.verdict = "same"
    else:
        improved = (row.delta_pct > 0) == (row.better == "higher")
        row.verdict = "better" if improved else "worse"


def regressions(rows: list[Comparison], pct: float) -> list[Comparison]:
    """Rows significantly worse by more than `pct` percent."""
    return [r for r in rows if r.verdict == "worse" and abs(r.delta_pct or 0) > pct]


def geomean(rows: list[Comparison]) -> tuple[float, float, float] | None:
    """Geomean of the medians per side and its change in percent, over rows both sides have.

    When the rows mix directions, higher-better medians enter as their reciprocal
    (req/s -> s/req) so every factor is a cost and a negative change means cheaper;
    benchstat needs no such rule because it makes one table per unit.
    """
    usable = [r for r in rows if r.old and r.new and r.old.median > 0 and r.new.median > 0]
    if not usable:
        return None
    invert = len({r.better for r in usable}) > 1

    def cost(row: Comparison, side: Summary) -> float:
        return 1 / side.median if invert and row.better == "higher" else side.median

    old = statistics.geometric_mean([cost(r, r.old) for r in usable if r.old])
    new = statistics.geometric_mean([cost(r, r.new) for r in usable if r.new])
    return old, new, (new - old) / old * 100


def relative(results: ResultSet, base: str) -> ResultSet:
    """Every metric as a multiple of `base`'s median in the same run (the base itself: 1x).

    Both services of a run alternate trial by trial, so a slow hour slows both alike; the
    ratio survives it where the absolute figure does not.
    """
    reference = results.service(base)
    services = {}
    for name, metrics in results.services.items():
        services[name] = {
            metric_name: Summary.of([v / reference[metric_name].median for v in s.values],
                                    f"x {base}")
            for metric_name, s in metrics.items()
            if metric_name in reference and reference[metric_name].median > 0
        }  # fmt: skip
    return ResultSet(results.path, services, results.summary)
