"""The cells of the article's table: a metric's two medians and its change, said plainly.

The article shows throughput as a ratio and costs as a change; here the ratio is the paired
per-round ratio with its interval where the run has one and the unpaired test does not call
the change noise (then it says `~`, as the comparison does), and the p99 row is the percentile
of every open-loop request pooled, labelled with the offered rate it was measured at.
"""

from kvbench.report.formatting import change, exact, number, percent, ratio
from kvbench.results.compare import Comparison
from kvbench.results.latency import label
from kvbench.results.metrics import metric
from kvbench.results.resultset import Metrics


def article_cells(r: Comparison, paired: Metrics | None = None) -> list[str]:
    title = metric(r.metric).title
    name = f"{title[:1].upper()}{title[1:]} ({r.unit})"
    shown = exact if metric(r.metric).exact else number  # an exact count keeps every digit
    old = shown(r.old.median) if r.old else "—"
    new = shown(r.new.median) if r.new else "—"
    found = (paired or {}).get(r.metric)
    if found is not None and r.better == "higher" and found.ci and r.verdict != "same":
        low, high = found.ci  # the per-round paired ratio, not a ratio of two medians
        return [name, old, new, f"{ratio(found.median)} ({number(low)} to {number(high)}, paired)"]
    return [name, old, new, article_delta(r)]


def article_latency(latency: tuple[dict, dict]) -> list[list[str]]:
    """p99 and p99.9 of all requests pooled, at the offered rate, where both qualify."""
    old, new = latency
    rate = old.get("offered_rate")
    at = f" at {number(rate)} req/s" if rate else ""
    found = []
    for name in ("p99", "p999"):
        if name in old and name in new:
            a, b = old[name]["ms"], new[name]["ms"]
            delta = percent(change(b, a)) + (f" ({ratio(a / b)} less)" if a / b >= 2 else "")
            found.append([f"Latency {label(name)}{at} (ms)", number(a), number(b), delta])
    return found


def article_delta(r: Comparison) -> str:
    if r.old is None or r.new is None or not r.verdict:
        return r.note or "n/a"
    if r.from_zero:
        text = f"from 0 ({r.evidence})"
    elif r.better == "higher":
        text = ratio(r.new.median / r.old.median) if r.old.median else "n/a"
    else:
        text = percent(r.delta_pct) if r.delta_pct is not None else "n/a"
    if r.verdict == "same":
        return f"~ ({text}, {r.evidence})"
    if r.better == "lower" and r.new.median > 0 and r.old.median / r.new.median >= 2:
        text += f" ({ratio(r.old.median / r.new.median)} less)"
    return text
