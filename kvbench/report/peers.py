"""REPORT.md for `kvbench peers`: the rows table, the scaling tables and their plots.

`peers_table(summary)` is the rows table alone, for the docs to include.
"""

from pathlib import Path

from kvbench.measure.checks import MAX_LOADGEN_SHARE
from kvbench.report import fields, plots
from kvbench.report.checks import checks_section, flag_notes, flagged
from kvbench.report.formatting import number, pct, plain, ratio
from kvbench.report.tables import centre
from kvbench.results.files import load_latencies
from kvbench.results.latency import current_summary
from kvbench.results.model import Latency, Run
from kvbench.results.summary import Summary
from kvbench.services import FRAMEWORK_FLOOR, PYTHON_CEILING

METHOD = (
    "Every row answers the same `GET /get?key=...` workload (the 1,000 preloaded keys in "
    "turn) from the same built-in load generator, and every answer's status, content-type "
    "and body are checked byte for byte, so no row wins by answering wrong. Each trial starts "
    "a fresh server; in every round the rows run back to back, their order reversed every "
    "other round, so drift on a shared machine hits all alike. Throughput is closed loop; "
    "p99 is open loop at one offered rate for every row (all requests of a row pooled, "
    "nearest rank), so no row's latency is just its own queue; server CPU is user + system "
    "time of the server's processes per request over that open-loop window, below "
    "saturation. Medians ± the 95% confidence interval of the median (none below 6 "
    "trials). Ratios are of medians, to the Python ceiling (`raw-protocol`)."
)


def peers_table(summary: dict | Run) -> str:
    """The rows as a markdown table: throughput, p99 at the common rate, CPU, vs the ceiling."""
    run = summary if isinstance(summary, Run) else Run.from_json(summary)
    services, ratios = run.services, fields.ratio_to_ceiling(run)
    rate = fields.offered_rate(run.environment)
    at = f" at {number(rate)} req/s" if rate else ""
    latency, what = run.latency, fields.rows(run)
    lines = [
        f"| row | what it is | throughput (req/s) | p99{at} (ms) | server CPU (µs/req) | vs "
        "ceiling |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    late, slowed = flagged(run.checks)
    for name, metrics in services.items():
        bound = "≥ " if generator_bound(metrics) else ""
        cells = [
            bound + _centre(metrics.get("http_tps")) + (" ‡" if name in slowed else ""),
            (_pooled_p99(latency.get(name)) if latency else _centre(metrics.get("http_p99_ms")))
            + (" †" if name in late else ""),
            _centre(metrics.get("server_open_cpu_us_per_req"))
            if latency
            else _centre(metrics.get("server_cpu_us_per_req")),
            "—" if ratios.get(name) is None else ratio(ratios[name]),
        ]
        lines.append(f"| {name} | {what.get(name, '')} | " + " | ".join(cells) + " |")
    for name, note in fields.skipped(run).items():
        lines.append(f"| {name} | {note} | | | | |")
    notes = _counts_note(services) + _bound_note(services) + flag_notes(run.checks)
    return "\n".join(lines) + "\n\n" + notes + "\n"


def generator_bound(metrics: dict[str, Summary]) -> bool:
    """Did the load generator use (nearly) its whole core on this row? Then the row's
    throughput is the generator's, a lower bound of the server's, and it leaves the ranking."""
    share = metrics.get("loadgen_cpu_share")
    return share is not None and share.median > MAX_LOADGEN_SHARE


def _bound_note(services: dict[str, dict[str, Summary]]) -> str:
    bound = [name for name, metrics in services.items() if generator_bound(metrics)]
    if not bound:
        return ""
    names = ", ".join(f"`{name}`" for name in bound)
    return (
        f" ≥: the load generator used over {plain(MAX_LOADGEN_SHARE * 100)}% of its core on "
        f"{names}, so these rows measured the generator: the server can go at least that fast, "
        "and they are not ranked."
    )


def _counts_note(services: dict[str, dict[str, Summary]]) -> str:
    counts = sorted({m["http_tps"].n for m in services.values() if "http_tps" in m})
    n = "/".join(str(c) for c in counts) or "?"
    ci = (
        "± is the wider side of the 95% CI of the median"
        if counts and counts[0] >= 6
        else ("no interval below 6 trials")
    )
    return f"Medians of n = {n} trials per row; {ci}."


def _centre(found: Summary | None) -> str:
    """One metric as every table prints it: `12.35k ± 2%`, the interval from its values (as
    the table has always shown it, whatever interval the run stored)."""
    if found is None:
        return "—"
    return centre(Summary.of(found.values, method=found.method))


def _stored(entry: dict | None) -> Summary | None:
    """A curve point's stored metric (the curves are not in the typed model yet)."""
    return Summary.from_json(entry) if entry and entry.get("values") else None


def _pooled_p99(latency: Latency | None) -> str:
    """p99 of all of a row's requests, with its 95% interval (schema 2)."""
    p99 = latency.percentiles.get("p99") if latency else None
    if p99 is None:
        return "—"
    low, high = p99.ci_low, p99.ci_high
    bounds = f" ({number(low)} to {number(high)})" if low is not None and high is not None else ""
    return f"{number(p99.ms)}{bounds}"


def curve_table(curve: dict, point: str, columns: list[tuple[str, str]]) -> str:
    """One scaling curve as a markdown table: a row per (service, point), and n said below.

    Only the columns the curve recorded (schema 1 recorded CPU per request, which in a
    saturated closed loop is 1/throughput; schema 2 the server's busy share instead).
    """
    recorded = {name for by_point in curve.values() for m in by_point.values() for name in m}
    columns = [(name, title) for name, title in columns if name in recorded]
    head = [point, "service", *(title for _, title in columns)]
    lines = ["| " + " | ".join(head) + " |", "| ---: | --- |" + " ---: |" * len(columns)]
    points = sorted({int(p) for by_point in curve.values() for p in by_point})
    for p in points:
        for service, by_point in curve.items():
            metrics = by_point.get(str(p), {})
            cells = [_centre(_stored(metrics.get(name))) for name, _ in columns]
            lines.append(f"| {p:,} | {service} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + _curve_counts(curve) + "\n"


def _curve_counts(curve: dict) -> str:
    counts = sorted({m["n"] for by_point in curve.values() for ms in by_point.values()
                     for m in ms.values() if isinstance(m, dict) and "n" in m})  # fmt: skip
    n = "/".join(str(c) for c in counts) or "?"
    if counts and counts[0] >= 6:
        return f"Medians of n = {n} trials per point ± the wider side of their 95% interval."
    return f"Medians of n = {n} trials per point: too few for an interval, so none is claimed."


CURVE_COLUMNS = {
    "concurrency": [
        ("http_tps", "throughput (req/s)"),
        ("http_closed_p99_ms", "p99, closed loop (ms)"),
        ("server_cpu_us_per_req", "server CPU (µs/req)"),
        ("server_busy", "server busy (cores)"),
    ],
    "keys": [
        ("http_tps", "throughput (req/s)"),
        ("server_rss_mb", "peak RSS (MB)"),
        ("server_startup_s", "start-up (s)"),
        ("server_cpu_us_per_req", "server CPU (µs/req)"),
    ],
    "workers": [
        ("http_tps", "throughput (req/s)"),
        ("server_cpu_us_per_req", "server CPU (µs/req)"),
        ("server_busy", "server busy (cores)"),
        ("loadgen_cpu_share", "load generator CPU (cores)"),
        ("worker_request_share_min", "least-loaded worker: requests"),
        ("worker_connection_share_min", "least-loaded worker: connections"),
    ],
}
CURVE_POINTS = {"concurrency": "connections", "keys": "keys", "workers": "workers"}


def write_report(out: Path, summary: dict) -> Path:
    """Write out/REPORT.md and out/plots/*.png|svg from a peers summary; returns the path."""
    current = current_summary(summary, out)  # intervals by today's method, from the records
    run = Run.from_json(current, str(out / "summary.json"))
    sections = [
        "# Peers, ceilings and scaling curves\n\n"
        "Generated by `make bench-peers` (`python -m kvbench peers`) from `summary.json`; "
        "every number below is in that file, and the one command reproduces them all.\n",
        "## Method\n\n" + METHOD + "\n\n" + _settings(run) + "\n",
        checks_section(run),
        "## Rows\n\n" + peers_table(run) + "\n" + _headline(run) + "\n",
        "## What each row runs\n\n" + _rows(run) + "\n",
        _row_plots(run, current.get("latency"), out),
        "## Scaling curves\n\n" + _curves(run, out),
    ]
    report = out / "REPORT.md"
    report.write_text("\n".join(s for s in sections if s), encoding="utf-8")
    return report


def _settings(run: Run) -> str:
    env = run.environment
    http, ceiling = fields.http(env), fields.loadgen_ceiling(env)
    said = [
        f"Machine: {env.get('cpu_model', '?')}, {env.get('cores', '?')} cores, "
        f"Python {env.get('python', '?')}, {env.get('os', '?')}; run {env.get('date', '?')}.",
        f"Pinning: {env.get('pinning', '?')}.",
        f"Rows: {http.get('trials', '?')} trials each, {http.get('concurrency', '?')} "
        f"connections, {http.get('warmup_s', '?')} s warm-up, {http.get('duration_s', '?')} s "
        f"closed loop, {http.get('latency_window_s', '?')} s open loop at "
        f"{number(http.get('offered_rate') or 0)} req/s ({http.get('rate_source', 'given')}).",
    ]
    if ceiling.get("tps"):
        said.append(
            f"Load generator ceiling: {number(ceiling['tps'])} req/s against a canned server "
            f"(`{ceiling.get('server', '?')}`) that does no work, on the same CPUs."
        )
    return " ".join(said)


def _headline(run: Run) -> str:
    """Where the optimized service stands against the floor and the ceiling, said plainly."""
    said = []
    check = fields.floor_check(run)
    if check.get("ratio") is not None:
        verdict = "within" if check["within"] else "NOT within"
        said.append(
            f"The optimized service reaches {pct(check['ratio'] * 100)} of the framework floor's "
            f"throughput on the same server: {verdict} {plain(check['tolerance'] * 100)}% of it."
        )
    ratios = fields.ratio_to_ceiling(run)
    if ratios.get("optimized") is not None:
        ceiling = run.services.get(PYTHON_CEILING) or {}
        most = "at most " if generator_bound(ceiling) else ""  # the ceiling is a lower bound
        said.append(
            f"Against the Python ceiling (`{PYTHON_CEILING}`), the optimized service's "
            f"throughput is {most}{ratio(ratios['optimized'])} the ceiling's and the framework "
            f"floor's {most}{ratio(ratios.get(FRAMEWORK_FLOOR) or 0)}."
        )
    return " ".join(said) + "\n" if said else ""


def _rows(run: Run) -> str:
    commands = fields.server_commands(run.environment)
    lines = []
    for name, what in fields.rows(run).items():
        command = " ".join(commands.get(name, [])).replace("--port 0", "--port PORT")
        lines.append(f"- `{name}`: {what}.\n  `python {command}`")
    lines += [f"- `{name}`: {note}." for name, note in fields.skipped(run).items()]
    lines.append(
        "\nServer CPU counts every process of a server (granian's and uvicorn's workers "
        "included); RSS and GC figures are those of the process that answers /debug/vars "
        "(for granian, its worker). granian adds a `server: granian` header the others "
        "do not send. The FastAPI row keeps the contract's statuses and messages for the "
        "benchmark's requests, but reads the last of a repeated `key`, as FastAPI does."
    )
    return "\n".join(lines) + "\n"


def _row_plots(run: Run, stored: dict | None, out: Path) -> str:
    """The rows' throughput and latency plots (`stored`: the summary's latency section)."""
    folder = out / "plots"
    tps = {n: m["http_tps"] for n, m in run.services.items() if "http_tps" in m}
    parts = ["## Plots of the rows\n"]
    if tps:
        connections = fields.connections(run.environment)
        paths = plots.throughput(tps, folder / "peers-throughput", connections)
        parts.append(plots.link("Throughput per row", paths, out))
    curves = {}
    for name, rel in fields.latency_files(run).items():
        values = load_latencies(out / rel)
        if values.size:
            curves[name] = values
    if curves:
        rate = fields.offered_rate(run.environment)
        paths = plots.latency(curves, folder / "peers-latency", rate, stored)
        parts.append(plots.link("Latency by percentile per row", paths, out))
    return "\n".join(parts)


CURVE_TEXT = {
    "concurrency": "Throughput and closed-loop p99 against the number of connections "
    "(at a fixed number of connections, p99 is mostly the queue: Little's law).",
    "keys": "Throughput, peak RSS and start-up time (from launch until /debug/vars and the "
    "port answer) against the number of preloaded keys; requests are spread evenly over "
    "the whole key range, up to {key_probes:,} distinct keys.",
    "workers": "Throughput against worker processes, each with its own SO_REUSEPORT "
    "listening socket (kvbench.runtime.supervisor), so the kernel spreads the connections "
    "the load generator opens all at once. Neither the servers nor the load generator is "
    "pinned: they share all {cores} cores, and the load generator's own CPU (in cores, "
    "1.00 = one whole core) is what it took from the servers. The last two columns are "
    "the least-loaded worker's share of the window's requests and new connections, from "
    "each worker's counters in /debug/vars (an even split of N workers is 1/N).",
}
CURVE_PANELS = {
    "concurrency": (
        [("http_tps", "requests per second (median)", False),
         ("http_closed_p99_ms", "p99 latency, closed loop (ms, log scale)", True)],
        "concurrent connections (log scale)",
    ),
    "keys": (
        [("http_tps", "requests per second (median)", False),
         ("server_rss_mb", "peak RSS (MB, log scale)", True),
         ("server_startup_s", "start-up time (s, log scale)", True)],
        "preloaded keys (log scale)",
    ),
    "workers": (
        [("http_tps", "requests per second (median)", False),
         ("loadgen_cpu_share", "load generator CPU (cores)", False),
         ("worker_request_share_min", "least-loaded worker's share of requests", False)],
        "worker processes",
    ),
}  # fmt: skip


def _curves(run: Run, out: Path) -> str:
    measured, env = fields.curves(run), run.environment
    described = env.get("curves") or {}
    if not measured:
        return "No curve was measured in this run.\n"
    parts = [f"Services: {', '.join(described.get('services', []))}; "
             f"{described.get('trials', '?')} trials per point.\n"]  # fmt: skip
    for name, curve in measured.items():
        text = CURVE_TEXT[name].format(
            key_probes=described.get("key_probes", 0), cores=env.get("cores", "?")
        )
        parts.append(f"### {name.capitalize()}\n\n{text}\n")
        parts.append(curve_table(curve, CURVE_POINTS[name], CURVE_COLUMNS[name]))
        stem = out / "plots" / f"scaling-{name}"
        paths = plots.curve(curve, *CURVE_PANELS[name], stem)
        parts.append(plots.link(f"Scaling with {CURVE_POINTS[name]}", paths, out))
    return "\n".join(parts)
