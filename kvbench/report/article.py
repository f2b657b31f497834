"""The cells of the article's table: a metric's two medians and its change, said plainly.

The article shows throughput as a ratio and costs as a change; here both are the paired
per-round ratio with its interval where the run has one, `~` where that interval holds no
change (docs/05's rule), and the p99 row is the percentile of every open-loop request
pooled, labelled with the offered rate it was measured at, with no verdict at the floor.
"""

from kvbench.measure.floor import at_floor
from kvbench.report.formatting import change, change_span, exact, number, percent, plain, ratio
from kvbench.results.compare import Comparison
from kvbench.results.latency import label
from kvbench.results.metrics import metric
from kvbench.results.resultset import LatencyRatio, Metrics
from kvbench.results.summary import Summary


def article_cells(r: Comparison, paired: Metrics | None = None) -> list[str]:
    title = metric(r.metric).title
    name = f"{title[:1].upper()}{title[1:]} ({r.unit})"
    shown = exact if metric(r.metric).exact else number  # an exact count keeps every digit
    old = shown(r.old.median) if r.old else "—"
    new = shown(r.new.median) if r.new else "—"
    found = (paired or {}).get(r.metric)
    judged = not metric(r.metric).exact and not metric(r.metric).diagnostic
    if found is not None and found.ci and judged:  # docs/05's rule: the paired interval
        return [name, old, new, paired_delta(found, r.better)]
    return [name, old, new, article_delta(r)]


def paired_delta(found: Summary, better: str) -> str:
    """The per-round ratio with its interval: as a ratio where higher is better, else as a
    change; `~` where the interval holds no change."""
    low, high = found.ci or (found.median, found.median)
    if better == "higher":
        said = f"{ratio(found.median)} ({number(low)} to {number(high)}, paired)"
    else:
        span = f"{percent((low - 1) * 100)} to {percent((high - 1) * 100)}"
        said = f"{percent((found.median - 1) * 100)} ({span}, paired)"
    return f"~ (can't tell at n={found.n}: {said})" if low <= 1 <= high else said


def article_latency(
    latency: tuple[dict, dict],
    tails: dict[str, LatencyRatio] | None = None,
    floor: dict | None = None,
) -> list[list[str]]:
    """p99 and p99.9 of all requests pooled, at the offered rate, where both qualify; with
    the ratio's 95% interval from resampling whole rounds where the run kept its trials, and
    no verdict where either side is at the run's measured floor."""
    old, new = latency
    rate = old.get("offered_rate")
    at = f" at {number(rate)} req/s" if rate else ""
    found = []
    for name in ("p99", "p999"):
        if name in old and name in new:
            a, b = old[name]["ms"], new[name]["ms"]
            delta = percent(change(b, a)) + _less(a / b, (tails or {}).get(name))
            if floor and (at_floor(a, floor, name) or at_floor(b, floor, name)):
                delta = floor_said(floor, name)
            found.append([f"Latency {label(name)}{at} (ms)", number(a), number(b), delta])
    return found


def floor_said(floor: dict, percentile: str) -> str:
    """The words for a percentile within the floor's factor of the run's floor (docs/05)."""
    factor = plain(floor.get("at_floor_factor", 2.0))
    reference = number(floor["round_trip_ms"][percentile])
    return f"can't tell: within {factor}x of the run's floor ({label(percentile)} {reference} ms)"


def _less(factor: float, tail: LatencyRatio | None) -> str:
    """` (2.94x less; 95% CI 1.33x to 21.7x less, rounds resampled)`: old over new, as said."""
    ci = tail[1] if tail else None
    if ci is None:
        return f" ({ratio(factor)} less)" if factor >= 2 else ""
    if ci[0] <= 1 <= ci[1]:  # docs/05's rule: no word where the interval holds no change
        return (f" (~, can't tell: new/old 95% CI {ratio(ci[0])} to {ratio(ci[1])}, "
                "rounds resampled)")  # fmt: skip
    if factor >= 1:  # new / old's interval, turned into old / new
        bounds, said = (1 / ci[1], 1 / ci[0]), "less"
    else:
        bounds, said, factor = ci, "more", 1 / factor
    span = f"{ratio(bounds[0])} to {ratio(bounds[1])} {said}"
    return f" ({ratio(factor)} {said}; 95% CI {span}, rounds resampled)"


def article_delta(r: Comparison) -> str:
    if r.old is None or r.new is None or not r.verdict:
        return r.note or "n/a"
    if metric(r.metric).diagnostic:  # shown, never judged
        return f"{percent(r.delta_pct)} (diagnostic)" if r.delta_pct is not None else "diagnostic"
    if r.from_zero:
        text = f"from 0 ({r.evidence})"
    elif r.better == "higher":
        text = ratio(r.new.median / r.old.median) if r.old.median else "n/a"
    else:
        text = percent(r.delta_pct) if r.delta_pct is not None else "n/a"
    if r.verdict == "once":  # an exact count without repeats (report.verdicts.COUNTED_ONCE)
        return f"{text} (counted once, no word)"
    if r.verdict == "same":  # with the interval the `~` comes from, where there is one
        span = f", {change_span(*((e - 1) * 100 for e in r.change_ci))}" if r.change_ci else ""
        return f"~ ({text}{span}, {r.evidence})"
    said = []
    less = r.better == "lower" and r.new.median > 0 and r.old.median / r.new.median >= 2
    if less:
        said.append(f"{ratio(r.old.median / r.new.median)} less")
    if r.change_ci and not metric(r.metric).exact:  # a timed change comes with its interval
        low, high = r.change_ci  # new / old; said as the figure beside it is
        if less:
            span = f"{ratio(1 / high)} to {ratio(1 / low)} less"
        elif r.better == "higher":
            span = f"{ratio(low)} to {ratio(high)}"
        else:
            span = change_span((low - 1) * 100, (high - 1) * 100)
        said.append(f"95% CI {span}, unpaired, n={min(r.old.n, r.new.n)}")
    return f"{text} ({'; '.join(said)})" if said else text
