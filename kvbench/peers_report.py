"""REPORT.md for `kvbench peers`: the rows table, the scaling tables and their plots.

`peers_table(summary)` is the rows table alone, for the docs to include.
"""

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullFormatter, NullLocator

from kvbench import plots

CEILING, FLOOR = "raw-protocol", "bare-asgi"
METHOD = (
    "Every row answers the same `GET /get?key=...` workload (the 1,000 preloaded keys in "
    "turn) from the same built-in load generator, and every answer's status and body length "
    "is checked, so no row wins by answering wrong. Each trial starts a fresh server; rows "
    "alternate trial by trial (A B C ... A B C ...) so drift on a shared machine hits all "
    "alike. Throughput is closed loop; p99 is open loop at one offered rate for every row, "
    "so no row's latency is just its own queue; server CPU is user + system time of the "
    "server's processes per request. Medians ± the 95% confidence interval of the median "
    "(none below 6 trials). Ratios are of medians, to the Python ceiling (`raw-protocol`)."
)


def peers_table(summary: dict) -> str:
    """The rows as a markdown table: throughput, p99 at the common rate, CPU, vs the ceiling."""
    services, ratios = summary.get("services") or {}, summary.get("ratio_to_ceiling") or {}
    rate = (summary.get("environment") or {}).get("http", {}).get("offered_rate")
    at = f" at {rate:,.0f} req/s" if rate else ""
    lines = [
        f"| row | throughput (req/s) | p99{at} (ms) | server CPU (µs/req) | vs ceiling |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, metrics in services.items():
        cells = [
            _centre(metrics.get("http_tps"), 0),
            _centre(metrics.get("http_p99_ms"), 2),
            _centre(metrics.get("server_cpu_us_per_req"), 1),
            _ratio(ratios.get(name)),
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for name, note in (summary.get("skipped") or {}).items():
        lines.append(f"| {name} | {note} | | | |")
    return "\n".join(lines) + "\n\n" + _counts_note(services) + "\n"


def _counts_note(services: dict) -> str:
    counts = sorted({m["http_tps"]["n"] for m in services.values() if m.get("http_tps")})
    n = "/".join(str(c) for c in counts) or "?"
    ci = (
        "± is the wider side of the 95% CI of the median"
        if counts and counts[0] >= 6
        else ("no interval below 6 trials")
    )
    return f"Medians of n = {n} trials per row; {ci}."


def _centre(entry: dict | None, digits: int) -> str:
    """`12,345 ± 2%`: the median and the wider side of its 95% CI (just the median below n=6)."""
    if not entry or entry.get("median") is None:
        return "–"
    med = entry["median"]
    text = f"{med:,.{digits}f}"
    if entry.get("ci_low") is None or not med:
        return text  # below 6 trials there is no interval; the table's note says n
    spread = max(med - entry["ci_low"], entry["ci_high"] - med) / abs(med)
    return f"{text} ± {spread:.0%}"


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def curve_table(curve: dict, point: str, columns: list[tuple[str, str, int]]) -> str:
    """One scaling curve as a markdown table: a row per (service, point), medians only."""
    head = [point, "service", *(title for _, title, _ in columns)]
    lines = ["| " + " | ".join(head) + " |", "| ---: | --- |" + " ---: |" * len(columns)]
    points = sorted({int(p) for by_point in curve.values() for p in by_point})
    for p in points:
        for service, by_point in curve.items():
            metrics = by_point.get(str(p), {})
            cells = [_centre(metrics.get(name), digits) for name, _, digits in columns]
            lines.append(f"| {p:,} | {service} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


CURVE_COLUMNS = {
    "concurrency": [
        ("http_tps", "throughput (req/s)", 0),
        ("http_closed_p99_ms", "p99, closed loop (ms)", 2),
        ("server_cpu_us_per_req", "server CPU (µs/req)", 1),
    ],
    "keys": [
        ("http_tps", "throughput (req/s)", 0),
        ("server_rss_mb", "peak RSS (MB)", 0),
        ("server_startup_s", "start-up (s)", 2),
        ("server_cpu_us_per_req", "server CPU (µs/req)", 1),
    ],
    "workers": [
        ("http_tps", "throughput (req/s)", 0),
        ("server_cpu_us_per_req", "server CPU (µs/req)", 1),
        ("loadgen_cpu_share", "load generator CPU (cores)", 2),
    ],
}
CURVE_POINTS = {"concurrency": "connections", "keys": "keys", "workers": "workers"}


def _figure(panels: int) -> Figure:
    fig = Figure(figsize=(4.6 * panels + 1.0, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def curve_plot(curve: dict, panels: list[tuple], xlabel: str, stem: Path) -> list[Path]:
    """Medians with 95% CI whiskers, one panel per (metric, label, log y?); x log past 10x."""
    fig = _figure(len(panels))
    for k, (name, label, log_y) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        for i, (service, by_point) in enumerate(curve.items()):
            _line(ax, service, by_point, name, plots.color(i))
        xs = sorted({int(p) for by_point in curve.values() for p in by_point})
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
        plots.plain_numbers(ax.yaxis)
    return plots.save(fig, stem)


def _line(ax, service: str, by_point: dict, name: str, line_color: str) -> None:
    found = sorted((int(p), m[name]) for p, m in by_point.items() if name in m)
    if not found:
        return
    xs = [p for p, _ in found]
    ys = np.array([m["median"] for _, m in found])
    low = ys - np.array(
        [m["ci_low"] if m.get("ci_low") is not None else m["median"] for _, m in found]
    )
    high = (
        np.array([m["ci_high"] if m.get("ci_high") is not None else m["median"] for _, m in found])
        - ys
    )
    ax.errorbar(xs, ys, yerr=[low, high], marker="o", capsize=4, color=line_color, label=service)


def write_report(out: Path, summary: dict) -> Path:
    """Write out/REPORT.md and out/plots/*.png|svg from a peers summary; returns the path."""
    sections = [
        "# Peers, ceilings and scaling curves\n\n"
        "Generated by `make bench-peers` (`python -m kvbench peers`) from `summary.json`; "
        "every number below is in that file, and the one command reproduces them all.\n",
        "## Method\n\n" + METHOD + "\n\n" + _settings(summary) + "\n",
        "## Rows\n\n" + peers_table(summary) + "\n" + _headline(summary) + "\n",
        "## What each row runs\n\n" + _rows(summary) + "\n",
        _row_plots(summary, out),
        "## Scaling curves\n\n" + _curves(summary, out),
    ]
    report = out / "REPORT.md"
    report.write_text("\n".join(sections), encoding="utf-8")
    return report


def _settings(summary: dict) -> str:
    env = summary.get("environment") or {}
    http, ceiling = env.get("http") or {}, env.get("loadgen_ceiling") or {}
    said = [
        f"Machine: {env.get('cpu_model', '?')}, {env.get('cores', '?')} cores, "
        f"Python {env.get('python', '?')}, {env.get('os', '?')}; run {env.get('date', '?')}.",
        f"Pinning: {env.get('pinning', '?')}.",
        f"Rows: {http.get('trials', '?')} trials each, {http.get('concurrency', '?')} "
        f"connections, {http.get('warmup_s', '?')} s warm-up, {http.get('duration_s', '?')} s "
        f"closed loop, {http.get('latency_window_s', '?')} s open loop at "
        f"{http.get('offered_rate') or 0:,.0f} req/s ({http.get('rate_source', 'given')}).",
    ]
    if ceiling.get("tps"):
        said.append(
            f"Load generator ceiling: {ceiling['tps']:,.0f} req/s against a canned server "
            f"(`{ceiling.get('server', '?')}`) that does no work, on the same CPUs."
        )
    return " ".join(said)


def _headline(summary: dict) -> str:
    """The two sentences the issue asks for, said plainly whatever the numbers are."""
    said = []
    check = summary.get("floor_check") or {}
    if check.get("ratio") is not None:
        verdict = "within" if check["within"] else "NOT within"
        said.append(
            f"The optimized service reaches {check['ratio']:.0%} of the framework floor's "
            f"throughput on the same server: {verdict} {check['tolerance']:.0%} of it."
        )
    ratios = summary.get("ratio_to_ceiling") or {}
    if ratios.get("optimized") is not None:
        said.append(
            f"Against the Python ceiling (`{CEILING}`), the optimized service runs at "
            f"{ratios['optimized']:.2f}× its throughput and the framework floor at "
            f"{ratios.get(FLOOR) or 0:.2f}×."
        )
    ceiling = (summary.get("environment") or {}).get("loadgen_ceiling") or {}
    tps = [m["http_tps"]["median"] for m in summary.get("services", {}).values() if "http_tps" in m]
    if ceiling.get("tps") and tps and ceiling["tps"] < 2 * max(tps):
        said.append(
            "Caution: the load generator's ceiling is under twice the fastest row, so the "
            "fastest rows may be bounded by the load generator, not by the server."
        )
    return " ".join(said) + "\n" if said else ""


def _rows(summary: dict) -> str:
    commands = ((summary.get("environment") or {}).get("http") or {}).get("commands") or {}
    lines = []
    for name, what in (summary.get("rows") or {}).items():
        command = " ".join(commands.get(name, [])).replace("--port 0", "--port PORT")
        lines.append(f"- `{name}`: {what}.\n  `python {command}`")
    lines += [f"- `{name}`: {note}." for name, note in (summary.get("skipped") or {}).items()]
    lines.append(
        "\nServer CPU counts every process of a server (granian's and uvicorn's workers "
        "included); RSS and GC figures are those of the process that answers /debug/vars "
        "(for granian, its worker). granian adds a `server: granian` header the others "
        "do not send. The FastAPI row keeps the contract's statuses and messages for the "
        "benchmark's requests, but reads the last of a repeated `key`, as FastAPI does."
    )
    return "\n".join(lines) + "\n"


def _row_plots(summary: dict, out: Path) -> str:
    folder = out / "plots"
    services = summary.get("services") or {}
    tps = {n: m["http_tps"] for n, m in services.items() if m.get("http_tps")}
    env = summary.get("environment") or {}
    http = env.get("http") or {}
    parts = ["## Plots of the rows\n"]
    if tps:
        paths = plots.throughput(tps, folder / "peers-throughput", http.get("concurrency"))
        parts.append(_link("Throughput per row", paths, out))
    curves = {}
    for name, rel in ((summary.get("files") or {}).get("latency") or {}).items():
        values = np.load(out / rel, allow_pickle=False).astype(np.float64) / 1e6
        if values.size:
            curves[name] = values
    if curves:
        paths = plots.latency(curves, folder / "peers-latency", http.get("offered_rate"))
        parts.append(_link("Latency by percentile per row", paths, out))
    return "\n".join(parts)


def _link(title: str, paths: list[Path], out: Path) -> str:
    png, svg = (p.relative_to(out).as_posix() for p in paths)
    return f"![{title}]({png})\n\n[{title}, SVG]({svg})\n"


CURVE_TEXT = {
    "concurrency": "Throughput and closed-loop p99 against the number of connections "
    "(at a fixed number of connections, p99 is mostly the queue: Little's law).",
    "keys": "Throughput, peak RSS and start-up time (from launch until /debug/vars and the "
    "port answer) against the number of preloaded keys; requests are spread evenly over "
    "the whole key range, up to {key_probes:,} distinct keys.",
    "workers": "Throughput against uvicorn worker processes. Here neither the servers nor "
    "the load generator is pinned: they share all {cores} cores, and the load generator's "
    "own CPU (in cores, 1.00 = one whole core) is what it took from the servers. Caution: "
    "uvicorn's workers share one listening socket, and the load generator opens all its "
    "connections at once; a check with per-worker counters (/debug/vars, one worker per "
    "read) found one worker holding every connection and the other idle, so more than one "
    "worker here may measure one worker. Spread the connections before reading this curve.",
}
CURVE_PANELS = {
    "keys": (
        [("http_tps", "requests per second (median)", False),
         ("server_rss_mb", "peak RSS (MB, log scale)", True),
         ("server_startup_s", "start-up time (s, log scale)", True)],
        "preloaded keys (log scale)",
    ),
    "workers": (
        [("http_tps", "requests per second (median)", False),
         ("loadgen_cpu_share", "load generator CPU (cores)", False)],
        "uvicorn worker processes",
    ),
}  # fmt: skip


def _curves(summary: dict, out: Path) -> str:
    scaling, env = summary.get("scaling") or {}, summary.get("environment") or {}
    described = env.get("scaling") or {}
    if not scaling:
        return "No curve was measured in this run.\n"
    parts = [f"Services: {', '.join(described.get('services', []))}; "
             f"{described.get('trials', '?')} trials per point.\n"]  # fmt: skip
    for name, curve in scaling.items():
        text = CURVE_TEXT[name].format(
            key_probes=described.get("key_probes", 0), cores=env.get("cores", "?")
        )
        parts.append(f"### {name.capitalize()}\n\n{text}\n")
        parts.append(curve_table(curve, CURVE_POINTS[name], CURVE_COLUMNS[name]))
        stem = out / "plots" / f"scaling-{name}"
        if name == "concurrency":
            paths = plots.sweep(curve, stem)
        else:
            paths = curve_plot(curve, *CURVE_PANELS[name], stem)
        parts.append(_link(f"Scaling with {CURVE_POINTS[name]}", paths, out))
    return "\n".join(parts)
