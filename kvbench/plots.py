"""The report's figures, drawn with matplotlib's Agg backend and saved as PNG and SVG."""

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullLocator

# Percentiles on the latency plots' x-axis; the axis itself is in "nines", -log10(1 - p).
NINES = {0.5: "p50", 0.9: "p90", 0.99: "p99", 0.999: "p99.9", 0.9999: "p99.99"}
COLORS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3"]


def _figure(width: float = 7.0, height: float = 4.2) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # Agg explicitly: no display, no pyplot global state
    return fig


def save(fig: Figure, stem: Path) -> list[Path]:
    """Write `stem`.png and `stem`.svg; no date in the SVG, so reruns differ only in data."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    png, svg = stem.with_suffix(".png"), stem.with_suffix(".svg")
    fig.savefig(png, dpi=130)
    fig.savefig(svg, metadata={"Date": None})
    return [png, svg]


def plain_numbers(axis) -> None:
    """Tick labels like 25,000 and 0.5 instead of 2.5e4 or 10^0."""
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 100 else f"{v:g}"))


def color(index: int) -> str:
    return COLORS[index % len(COLORS)]


def throughput(services: dict[str, dict], stem: Path, concurrency=None) -> list[Path]:
    """Median requests/s per service as bars, with the 95% CI of the median as whiskers."""
    fig = _figure()
    ax = fig.add_subplot()
    names = list(services)
    medians = np.array([services[n]["median"] for n in names])
    bars = ax.bar(names, medians, color=[color(i) for i in range(len(names))], label="median")
    with_ci = [i for i, n in enumerate(names) if services[n].get("ci_low") is not None]
    if with_ci:
        low = [medians[i] - services[names[i]]["ci_low"] for i in with_ci]
        high = [services[names[i]]["ci_high"] - medians[i] for i in with_ci]
        xs = [names[i] for i in with_ci]
        ax.errorbar(xs, medians[with_ci], yerr=[low, high], fmt="none", ecolor="black", capsize=6,
                    label="95% CI of the median")  # fmt: skip
    labels = [_bar_label(medians[i], services[n], i in with_ci) for i, n in enumerate(names)]
    ax.bar_label(bars, labels=labels, padding=4)
    where = f", {concurrency} connections (closed loop)" if concurrency else ""
    ax.set_title(f"HTTP throughput per service{where}")
    ax.set_ylabel("requests per second (median of trials)")
    ax.set_xlabel("service")
    tops = [services[n].get("ci_high") or services[n]["median"] for n in names]
    ax.set_ylim(0, max(tops) * 1.18)
    ax.legend(loc="upper left")
    ax.grid(axis="y", alpha=0.3)
    plain_numbers(ax.yaxis)
    return save(fig, stem)


def _bar_label(value: float, summary: dict, has_ci: bool) -> str:
    """The median, and why a bar has no whisker: too few trials for an interval."""
    text = f"{value:,.0f}"
    return text if has_ci else f"{text}\n(no CI: n={summary.get('n', '?')})"


def latency(curves: dict[str, np.ndarray], stem: Path, offered_rate=None) -> list[Path]:
    """Latency against percentile, p50 to p99.99 on a log "nines" axis, one line per service."""
    fig = _figure()
    ax = fig.add_subplot()
    for i, (name, ms) in enumerate(curves.items()):
        top = min(max(NINES), 1 - 1 / len(ms))  # beyond this the sample has no data
        x = np.linspace(_nines(0.5), _nines(top), 200)
        p = 1 - 10.0**-x
        ax.plot(
            x,
            np.percentile(ms, p * 100),
            color=color(i),
            label=f"{name} ({len(ms):,} requests, trials pooled)",
        )
    ax.set_xticks([_nines(p) for p in NINES], list(NINES.values()))
    ax.set_yscale("log")
    plain_numbers(ax.yaxis)
    rate = f" at {float(offered_rate):,.0f} req/s offered (open loop)" if offered_rate else ""
    ax.set_title(f"Latency by percentile{rate}")
    ax.set_xlabel("percentile (log scale of nines)")
    ax.set_ylabel("latency (ms, log scale)")
    ax.legend(loc="lower right")
    ax.grid(which="both", alpha=0.3)
    return save(fig, stem)


def _nines(p: float) -> float:
    return -np.log10(1 - p)


def sweep(runs: dict[str, dict], stem: Path) -> list[Path]:
    """Throughput (and p99 when recorded) against concurrency, medians with 95% CI whiskers."""
    panels = [
        ("http_tps", "requests per second (median, 95% CI)", "Throughput"),
        ("http_closed_p99_ms", "p99 latency, closed loop (ms)", "p99 latency"),
        ("http_p99_ms", "p99 latency (ms)", "p99 latency"),
    ]
    panels = [p for p in panels if any(p[0] in by_c for r in runs.values() for by_c in r.values())]
    panels = panels[:2]  # throughput and one latency panel, closed-loop p99 when recorded
    fig = _figure(width=5.0 * len(panels) + 1.0)
    for k, (name, label, title) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        for i, (service, by_c) in enumerate(runs.items()):
            _sweep_line(ax, service, by_c, name, color(i))
        ax.set_xscale("log", base=2)
        ticks = sorted({int(c) for by_c in runs.values() for c in by_c})
        ax.set_xticks(ticks, [str(c) for c in ticks])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("concurrent connections (log scale)")
        ax.set_ylabel(label)
        ax.set_title(f"{title} vs concurrency")
        ax.legend()
        ax.grid(which="both", alpha=0.3)
        plain_numbers(ax.yaxis)
    return save(fig, stem)


def _sweep_line(ax, service: str, by_c: dict, name: str, line_color: str) -> None:
    points = sorted((int(c), m[name]) for c, m in by_c.items() if name in m)
    if not points:
        return
    xs = [c for c, _ in points]
    ys = np.array([m["median"] for _, m in points])
    low = ys - np.array([m.get("ci_low") or m["median"] for _, m in points])
    high = np.array([m.get("ci_high") or m["median"] for _, m in points]) - ys
    ax.errorbar(xs, ys, yerr=[low, high], marker="o", capsize=4, color=line_color, label=service)
