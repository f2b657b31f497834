"""The report's figures, drawn with matplotlib's Agg backend and saved as PNG and SVG."""

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, NullLocator

from kvbench.report.formatting import number, plain
from kvbench.results.latency import MIN_BEYOND, PERCENTILES, percentile_ms, qualifies
from kvbench.results.summary import Summary

# Percentiles on the latency plots' x-axis; the axis itself is in "nines", -log10(1 - p).
COLORS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3"]


def _figure(width: float = 7.0, height: float = 4.2) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # Agg explicitly: no display, no pyplot global state
    return fig


def save(fig: Figure, stem: Path) -> list[Path]:
    """Write `stem`.png and `stem`.svg; no date and fixed ids in the SVG, so reruns of the
    same data write the same bytes."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    png, svg = stem.with_suffix(".png"), stem.with_suffix(".svg")
    fig.savefig(png, dpi=130)
    with matplotlib.rc_context({"svg.hashsalt": "kvbench"}):
        fig.savefig(svg, metadata={"Date": None})
    return [png, svg]


def plain_numbers(axis) -> None:
    """Tick labels like 25,000 and 0.5 instead of 2.5e4 or 10^0."""
    axis.set_major_formatter(FuncFormatter(lambda v, _: plain(v)))


def color(index: int) -> str:
    return COLORS[index % len(COLORS)]


def throughput(services: dict[str, Summary], stem: Path, concurrency=None) -> list[Path]:
    """Median requests/s per service as bars, with the 95% CI of the median as whiskers."""
    fig = _figure()
    ax = fig.add_subplot()
    names = list(services)
    medians = np.array([services[n].median for n in names])
    bars = ax.bar(names, medians, color=[color(i) for i in range(len(names))], label="median")
    cis = {i: ci for i, n in enumerate(names) if (ci := services[n].ci) is not None}
    with_ci = list(cis)
    if with_ci:
        low = [medians[i] - cis[i][0] for i in with_ci]
        high = [cis[i][1] - medians[i] for i in with_ci]
        xs = [names[i] for i in with_ci]
        ax.errorbar(xs, medians[with_ci], yerr=[low, high], fmt="none", ecolor="black", capsize=6,
                    label="95% CI of the median")  # fmt: skip
    labels = [_bar_label(medians[i], services[n], i in with_ci) for i, n in enumerate(names)]
    ax.bar_label(bars, labels=labels, padding=4)
    where = f", {concurrency} connections (closed loop)" if concurrency else ""
    ax.set_title(f"HTTP throughput per service{where}")
    ax.set_ylabel("requests per second (median of trials)")
    ax.set_xlabel("service")
    tops = [(s.ci[1] if s.ci else 0) or s.median for s in services.values()]
    ax.set_ylim(0, max(tops) * 1.18)
    ax.legend(loc="upper left")
    ax.grid(axis="y", alpha=0.3)
    plain_numbers(ax.yaxis)
    return save(fig, stem)


def _bar_label(value: float, summary: Summary, has_ci: bool) -> str:
    """The median, and why a bar has no whisker: too few trials for an interval."""
    text = number(value)
    return text if has_ci else f"{text}\n(no CI: n={summary.n})"


def latency(
    curves_ns: dict[str, np.ndarray], stem: Path, offered_rate=None, stored: dict | None = None
) -> list[Path]:
    """Latency against percentile on a log "nines" axis, one line per service, trials pooled.

    The same nearest-rank percentiles as the tables (numpy's inverted_cdf), drawn up to the
    last percentile with at least MIN_BEYOND requests beyond it; the named percentiles are
    markers with the 95% intervals summary.json holds (`stored`: service -> its "latency"
    entry; from whole trials resampled). A bare file does not say which request came from
    which trial, so without a stored entry the markers have no whiskers.
    """
    fig = _figure()
    ax = fig.add_subplot()
    top = 0.5
    for i, (name, raw) in enumerate(curves_ns.items()):
        ns = np.sort(np.asarray(raw, dtype=np.int64))
        last = (ns.size - MIN_BEYOND - 1) / ns.size  # beyond this, under 10 requests remain
        if last <= 0.5:
            continue
        top = max(top, last)
        x = np.linspace(_nines(0.5), _nines(last), 200)
        p = (1 - 10.0**-x) * 100
        y = np.percentile(ns, p, method="inverted_cdf") / 1e6
        label_text = f"{name} ({ns.size:,} requests, trials pooled)"
        ax.plot(x, y, color=color(i), label=label_text)
        _named_points(ax, ns, color(i), (stored or {}).get(name) or {})
    named = [p for p in PERCENTILES.values() if float(p) / 100 <= top]
    ax.set_xticks([_nines(float(p) / 100) for p in named], [f"p{p}" for p in named])
    ax.set_yscale("log")
    plain_numbers(ax.yaxis)
    rate = f" at {number(float(offered_rate))} req/s offered (open loop)" if offered_rate else ""
    ax.set_title(f"Latency by percentile{rate}")
    ax.set_xlabel("percentile, nearest rank (log scale of nines); markers: 95% intervals")
    ax.set_ylabel("latency (ms, log scale)")
    ax.legend(loc="lower right")
    ax.grid(which="both", alpha=0.3)
    return save(fig, stem)


def _named_points(ax, sorted_ns: np.ndarray, line_color: str, stored: dict) -> None:
    """The table's percentiles as markers, with the intervals the summary stored for them."""
    for name, percent in PERCENTILES.items():
        if not qualifies(sorted_ns.size, percent):
            continue
        y = percentile_ms(sorted_ns, percent)
        entry = stored.get(name)
        found: dict = entry if isinstance(entry, dict) else {}
        low = y - found["ci_low"] if found.get("ci_low") is not None else 0.0
        high = found["ci_high"] - y if found.get("ci_high") is not None else 0.0
        x = _nines(float(percent) / 100)
        ax.errorbar([x], [y], yerr=[[low], [high]], fmt="o", color=line_color, capsize=3,
                    markersize=4)  # fmt: skip


def _nines(p: float) -> float:
    return -np.log10(1 - p)


def curve(points: dict, panels: list[tuple[str, str, bool]], xlabel: str, stem: Path):
    """One panel per (metric, label, log y?): a line per service, x on a log scale past 10x.

    Whiskers are the 95% CI of the median where a point has one; a point without (fewer
    than 6 trials) is a bare marker, and the legend says so.
    """
    fig = _figure(width=4.6 * len(panels) + 1.0)
    for k, (name, label, log_y) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        for i, (service, by_point) in enumerate(points.items()):
            _curve_line(ax, service, by_point, name, color(i))
        xs = sorted({int(p) for by_point in points.values() for p in by_point})
        if len(xs) > 1 and xs[-1] / xs[0] >= 10:
            ax.set_xscale("log")
            ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticks(xs, [f"{x:,}" for x in xs])
        ax.set_xlabel(xlabel)
        ax.set_ylabel(label)
        title = f"{label.split(' (')[0]} vs {xlabel.split(' (')[0]}"
        ax.set_title(title[0].upper() + title[1:])
        if log_y:  # ticks at 1, 2 and 5 of each decade, in plain numbers
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_minor_formatter(NullFormatter())
        else:
            ax.set_ylim(bottom=0)
        if ax.get_legend_handles_labels()[0]:  # a metric no point recorded has no lines
            ax.legend()
        ax.grid(which="both", alpha=0.3)
        plain_numbers(ax.yaxis)
    return save(fig, stem)


def _curve_line(ax, service: str, by_point: dict, name: str, line_color: str) -> None:
    found = sorted((int(p), m[name]) for p, m in by_point.items() if name in m)
    if not found:
        return
    xs = [p for p, _ in found]
    ys = np.array([m["median"] for _, m in found])
    # A point without an interval gets a zero whisker: a bare marker, not a claimed CI.
    low = ys - np.array(
        [m["ci_low"] if m.get("ci_low") is not None else m["median"] for _, m in found]
    )
    high = np.array(
        [m["ci_high"] if m.get("ci_high") is not None else m["median"] for _, m in found]
    )
    every = all(m.get("ci_low") is not None for _, m in found)
    label = service if every else f"{service} (median; no interval below 6 trials)"
    ax.errorbar(xs, ys, yerr=[low, high - ys], marker="o", capsize=4, color=line_color, label=label)


def link(title: str, paths: list[Path], out: Path) -> str:
    """Markdown for a saved figure: the PNG shown, the SVG linked, both relative to `out`."""
    png, svg = (p.relative_to(out).as_posix() for p in paths)
    return f"![{title}]({png})\n\n[{title}, SVG]({svg})\n"
