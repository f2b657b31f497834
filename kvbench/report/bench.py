"""REPORT.md for a `kvbench bench` run: environment, method, result tables and plots.

Everything comes from the run's summary.json and the raw latency files beside it.
"""

import sys
from pathlib import Path

import numpy as np

from kvbench import KvbenchError
from kvbench.report import fields, plots
from kvbench.report.checks import ceiling_text, checks_section, flag_notes, flagged, floor_section
from kvbench.report.fields import recorded
from kvbench.report.formatting import ratio, setting
from kvbench.report.tables import context_for, render
from kvbench.results.compare import compare_sets
from kvbench.results.files import load_latencies
from kvbench.results.model import Run
from kvbench.results.resultset import ResultSet, read_results

BASELINE = "unoptimized"
# The environment keys in reading order; any others follow in the order the run wrote them.
# (label, dotted path in the environment) of the settings a reader needs, in reading order.
SETTINGS = [
    ("date", "date"),
    ("CPU", "cpu_model"),
    ("cores", "cores"),
    ("Python", "python"),
    ("pinning", "pinning"),
    ("trials per service", "http.trials"),
    ("connections (closed loop)", "http.concurrency"),
    ("warm-up per trial (s)", "http.warmup_s"),
    ("closed-loop window (s)", "http.duration_s"),
    ("open-loop window (s)", "http.latency_window_s"),
    ("open-loop offered rate (req/s)", "http.offered_rate"),
    ("order of the services in a round", "http.order"),
    ("latency percentiles", "http.latency_method"),
    ("load generator", "http.loadgen"),
    ("load generator alone, canned server (req/s)", "loadgen_ceiling.tps"),
    ("load generator ceiling checked against (x the fastest service)",
     "loadgen_ceiling.min_headroom"),
    ("closed-loop server busy share checked against", "http.min_busy"),
    ("load generator's CPU share checked against", "http.max_loadgen_share"),
    ("open-loop p99 from the schedule over p99 from the send, at most", "http.max_schedule_excess"),
    ("pyperf settings", "pyperf_args"),
    ("pyperf rounds, interleaved", "pyperf_rounds"),
    ("allocations", "allocations"),
]  # fmt: skip
# Method sentences: each is said only when the run recorded every key it names.
METHOD = [
    (
        ("trials", "concurrency"),
        "Throughput: {trials} trials per service, measured closed loop with {concurrency} "
        "connections (each sends its next request when the previous answer arrives).",
    ),
    (
        ("interleaved",),
        "Trials of the services alternate (A B A B ...), so drift hits all alike.",
    ),
    (
        ("order",),
        "In every round the services run back to back, and their order reverses every "
        "other round (A B, B A, A B, ...), so drift hits all alike and none always "
        "follows the load generator's ceiling window.",
    ),
    (
        ("warmup_s", "duration_s"),
        "Each trial warms up for {warmup_s} s, then measures {duration_s} s.",
    ),
    (
        ("offered_rate",),
        "Latency: open loop at a fixed offered rate of {offered_rate} requests/s, each request "
        "timed from its intended send time, so a slow server shows its queueing delay "
        "instead of hiding it (no coordinated omission).",
    ),
    (
        ("latency_method",),
        "Latency percentiles are of every request of a service, pooled over its trials "
        "(nearest rank), and shown only where at least 10 requests lie beyond them (p99.9 "
        "needs 10,000 requests). Their 95% intervals come from resampling whole trials, "
        "not requests: the requests of one trial share its server and its minute, and an "
        "interval that counts them as independent is several times too narrow. An interval "
        "is two of the resampled percentiles themselves, so it never leaves the range of the "
        "trials' own percentiles; the change between two services has its interval from "
        "resampling whole rounds.",
    ),
    (
        ("min_busy",),
        "Server CPU per request is measured over the open-loop window at that rate, where "
        "the server is not saturated (in a saturated closed loop it would only be "
        "1/throughput); in the closed loop the run records instead how busy the server was "
        "(its CPU seconds per second of the window): busy the whole window, it and not the "
        "load generator set the pace. Both windows read the server's CPU at the load "
        "generator's own window instants, and count the answers that arrive inside them.",
    ),
    (("pinning",), "CPU pinning: {pinning}."),
    (("loadgen",), "Load generator: {loadgen}."),
    (("pyperf_args",), "Micro and in-process ASGI suites: pyperf with {pyperf_args}."),
    (
        ("pyperf_rounds",),
        "The suites run in {pyperf_rounds} rounds appended to one file, each round a few "
        "processes of every benchmark, so the machine's drift hits every benchmark alike.",
    ),
    (("allocations",), "Allocations: {allocations}."),
]
STATISTICS = (
    "Tables show the median of the trials ± the 95% confidence interval of the median (from "
    "binomial order statistics), the change of the medians, and the two-sided Mann-Whitney U "
    "p-value (exact up to 25 values a side, ties included); `~` means no difference at "
    "alpha = 0.05, as in Go's benchstat. A diagnostic (how the run went, or a figure that "
    "repeats another: the closed-loop p99 is throughput again) shows its change with no "
    "test or verdict and stays out of the geomean."
)
PAIRED = (
    "Paired ratios divide each service by its base in the same round (the two measured back "
    "to back, minutes apart at most) and report the median of those per-round ratios with "
    "its 95% interval (order statistics). Pairing cancels what the two share within a "
    "round, such as the machine's drift: it narrows the interval when their values move "
    "together across rounds, and cannot when they do not."
)
BESIDE = (
    "Beside each paired ratio stand the unpaired ratio of the two medians, its interval from "
    "each side's trials resampled independently, r, the correlation of the two services' "
    "(log) values across rounds, and which interval is narrower: the paired one when r is "
    "clearly positive; when r is near zero or negative, pairing cannot help and the unpaired "
    "interval is as narrow or narrower."
)


def write_report(results: Path, out: Path | None = None) -> Path:
    """Render REPORT.md (and plots/*.png, *.svg) for the run in `results`; returns its path."""
    run = read_results(results)
    if run.run is None:
        raise KvbenchError(f"{results}: the report needs a results folder with summary.json")
    out = out or run.path.parent
    out.mkdir(parents=True, exist_ok=True)
    env = run.environment
    sections = [
        _header(run),
        _environment(env),
        _method(run.run),
        checks_section(run.run),
        floor_section(fields.floor(run.run)),
        _results(run),
        _cross_check(fields.cross_check(run.run), run.run.checks if run.run else {}),
        _figures(run, out),
    ]
    report = out / "REPORT.md"
    report.write_text("\n".join(s for s in sections if s), encoding="utf-8")
    return report


def _header(run: ResultSet) -> str:
    return (
        "# Benchmark report\n\n"
        f"Generated by `python -m kvbench report` from `{run.path.name}`; every number and "
        "figure below comes from that run. Regenerate it rather than editing it.\n"
    )


def settings(env: dict) -> dict:
    """The environment with its nested "http" settings lifted to the top, as `bench` nests them."""
    return {**env, **fields.http(env)}


def environment_table(env: dict) -> str:
    """The settings a reader needs, in reading order (the docs show this table too)."""
    lines = ["| setting | value |", "| --- | --- |"]
    for label, path in SETTINGS:
        try:
            lines.append(f"| {label} | {setting(recorded(env, path))} |")
        except KvbenchError:
            continue  # a run that did not record it (say, no HTTP layer) skips the line
    packages = setting(fields.packages(env))  # a package not installed says so
    return "\n".join(lines + ([f"| packages | {packages} |"] if packages else []))


def _environment(env: dict) -> str:
    """The settings table, then every other key the run recorded, then the server commands."""
    shown = {path.split(".")[-1] for _, path in SETTINGS} | {"loadgen_ceiling", "packages"}
    flat = settings(env)
    rest = [f"| {_label(k)} | {setting(v)} |" for k, v in flat.items()
            if k not in shown and k not in ("http", "commands")]  # fmt: skip
    lines = ["## Environment\n", environment_table(env), *rest]
    commands = fields.server_commands(env)
    if commands:
        lines += ["", "Server commands, exactly as run:", ""]
        lines += [f"- {name}: `{_command(cmd)}`" for name, cmd in commands.items()]
    return "\n".join(lines) + "\n"


def _label(key: str) -> str:
    return (key[:-2] + " (s)" if key.endswith("_s") else key).replace("_", " ")


def _command(cmd) -> str:
    """The command as a reader would type it; `bench` records it without the interpreter."""
    words = [str(c) for c in cmd] if isinstance(cmd, list) else str(cmd).split()
    return " ".join(["python", *words] if words[:1] == ["-m"] else words)


def _method(run: Run) -> str:
    """The methodology paragraph, stating only what the run's environment records."""
    flat = settings(run.environment)
    if "order" in flat:
        flat.pop("interleaved", None)  # the order says it, and more exactly
    values = {k: setting(v) for k, v in flat.items()}
    said = [text.format(**values) for keys, text in METHOD if all(k in flat for k in keys)]
    said += ceiling_text(run, fields.loadgen_ceiling(run.environment))
    said += [STATISTICS] + ([PAIRED] if run.paired else [])
    said += [BESIDE] if _has_unpaired(run) else []
    return "## Method\n\n" + " ".join(said) + "\n"


def _has_unpaired(run: Run) -> bool:
    """Whether the run stored the unpaired ratios beside the paired ones (runs before did not)."""
    return any("unpaired" in m.other for p in run.paired.values() for m in p.metrics.values())


def _results(run: ResultSet) -> str:
    services = list(run.services)
    base = BASELINE if BASELINE in services else services[0]
    others = [s for s in services if s != base]
    if not others:
        return f"## Results\n\nOnly one service ({base}) in this run: nothing to compare.\n"
    others.sort(key=lambda s: s != "optimized")  # the article's pair first
    parts = ["## Results\n"]
    for name in others:
        rows = compare_sets(run.services[base], run.services[name])
        context = context_for(run, base, name)
        parts.append(f"### {name} vs {base}\n\n" + render(rows, "md", (base, name), context))
        parts.append("In the article's shape:\n\n" + render(rows, "article", (base, name), context))
    return "\n".join(parts)


def _cross_check(found: dict, checks: dict) -> str:
    return "## Cross-check with wrk\n\n" + cross_check_table(found, checks) if found else ""


def cross_check_table(found: dict, checks: dict | None = None, pointer: bool = True) -> str:
    """`--loadgen both`: the ratio to the base by wrk and by the built-in generator; a row
    the run's own checks flagged is marked, with the check's note below (no tail shown: no †)."""
    _, slowed = flagged(checks or {})
    lines = ["Each trial measured the same server with the built-in generator and with "
             "`wrk -t1`, one closed window each, their order alternating by round; both ratios "
             "are medians of per-round ratios to the base service.\n",
             "| service | vs | built-in ratio | wrk ratio | wrk / built-in | within 10% |",
             "| --- | --- | ---: | ---: | ---: | --- |"]  # fmt: skip
    for name, c in found.items():
        lines.append(
            f"| {name}{' ‡' if name in slowed else ''} | {c['vs']} | {ratio(c['builtin_ratio'])} "
            f"| {ratio(c['wrk_ratio'])} | {ratio(c['wrk_over_builtin'])} "
            f"| {'yes' if c['within_10pct'] else 'no'} |"
        )
    notes = flag_notes(checks or {}, tails=False, pointer=pointer).strip()
    return "\n".join(lines) + "\n" + (f"\n{notes}\n" if notes else "")


def _figures(run: ResultSet, out: Path) -> str:
    folder = out / "plots"
    parts = ["## Plots\n"]
    parts.append(_throughput_plot(run, folder))
    parts.append(_latency_plot(run, folder))
    return "\n".join(parts)


def _throughput_plot(run: ResultSet, folder: Path) -> str:
    tps = {name: m["http_tps"] for name, m in run.services.items()
           if "http_tps" in m and m["http_tps"].median}  # fmt: skip
    if not tps:
        return _skipped("Throughput", "this run recorded no http_tps")
    connections = fields.connections(run.environment)
    paths = plots.throughput(tps, folder / "throughput", connections)
    return "### Throughput\n\n" + plots.link("Throughput per service", paths, folder.parent)


def _latency_plot(run: ResultSet, folder: Path) -> str:
    curves, problems = {}, []
    files = fields.latency_files(run.run) if run.run else {}
    for name, rel in files.items():
        try:
            curves[name] = _latencies_ns(run.path.parent / rel)
        except KvbenchError as exc:
            problems.append(str(exc))
    notes = "".join(f"\nNote: {p}.\n" for p in problems)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    if not curves:
        return _skipped("Latency", "no raw latency files in this run") + notes
    rate = fields.offered_rate(run.environment)
    paths = plots.latency(curves, folder / "latency", rate, run.latency)
    text = "### Latency percentiles\n\n" + plots.link("Latency by percentile", paths, folder.parent)
    return text + notes


def _latencies_ns(path: Path) -> np.ndarray:
    """The raw latencies of one service, in nanoseconds (requests-*.npz or latency-*.npy)."""
    values = load_latencies(path)
    if values.size == 0:
        raise KvbenchError(f"{path.name}: no latencies recorded")
    return values.astype(np.int64)


def _skipped(title: str, why: str) -> str:
    return f"### {title}\n\nNo plot: {why}.\n"
