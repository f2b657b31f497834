"""The cells of the article's table: a metric's two medians and its change, said plainly.

The article shows throughput as a ratio and costs as a change; here the ratio is the paired
per-round ratio with its interval where the run has one and the unpaired test does not call
the change noise (then it says `~`, as the comparison does), and the p99 row is the percentile
of every open-loop request pooled, labelled with the offered rate it was measured at.
"""

import math

from kvbench.results.compare import Comparison
from kvbench.results.latency import label
from kvbench.results.metrics import metric
from kvbench.results.resultset import Metrics


def article_cells(r: Comparison, paired: Metrics | None = None) -> list[str]:
    title = metric(r.metric).title
    name = f"{title[:1].upper()}{title[1:]} ({r.unit})"
    old = plain(r.old.median) if r.old else "—"
    new = plain(r.new.median) if r.new else "—"
    ratio = (paired or {}).get(r.metric)
    if ratio is not None and r.better == "higher" and ratio.ci and r.verdict != "same":
        low, high = ratio.ci  # the per-round paired ratio, not a ratio of two medians
        return [name, old, new, f"{ratio.median:.2f}x ({low:.2f} to {high:.2f}, paired)"]
    return [name, old, new, article_delta(r)]


def article_latency(latency: tuple[dict, dict]) -> list[list[str]]:
    """p99 and p99.9 of all requests pooled, at the offered rate, where both qualify."""
    old, new = latency
    rate = old.get("offered_rate")
    at = f" at {rate:,.0f} req/s" if rate else ""
    found = []
    for name in ("p99", "p999"):
        if name in old and name in new:
            a, b = old[name]["ms"], new[name]["ms"]
            delta = f"{(b - a) / a * 100:+.0f}%" + (f" ({a / b:.1f}x less)" if a / b >= 2 else "")
            found.append([f"Latency {label(name)}{at} (ms)", plain(a), plain(b), delta])
    return found


def article_delta(r: Comparison) -> str:
    if r.old is None or r.new is None or not r.verdict:
        return r.note or "n/a"
    if r.from_zero:
        text = f"from 0 (p={r.p:.2f})"
    elif r.better == "higher":
        text = f"{r.new.median / r.old.median:.2f}x" if r.old.median else "n/a"
    else:
        text = f"{r.delta_pct:+.0f}%" if r.delta_pct is not None else "n/a"
    if r.verdict == "same":
        return f"~ ({text}, p={r.p:.2f})"
    if r.better == "lower" and r.new.median > 0 and r.old.median / r.new.median >= 2:
        text += f" ({r.old.median / r.new.median:.1f}x less)"
    return text


def plain(value: float) -> str:
    """Thousands separators above 100, three significant digits below."""
    if not math.isfinite(value):
        return str(value)
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:#.3g}".rstrip(".")
