"""Result tables for the docs: the article's table, compare output, settings, capacity, stores.

The stores blocks read `bench-results/stores/` (`make bench-stores`): the optimized service
with its answers in each process, on Redis GET by GET, and on Redis with MGET batching,
one worker and two, measured in one interleaved run.
"""

import math
from pathlib import Path

from kvbench import KvbenchError
from kvbench.docgen.snippets import fence
from kvbench.docgen.sources import Sources, missing, typed
from kvbench.docgen.values import setting
from kvbench.report.bench import cross_check_table
from kvbench.report.formatting import number, quantity, with_range
from kvbench.report.peers import CURVE_COLUMNS, CURVE_POINTS, curve_table
from kvbench.report.tables import context_for, render
from kvbench.results.compare import compare_sets
from kvbench.results.summary import Summary
from kvbench.services import MEMORY, STORES

# Sizing examples of docs/06 (workers) and the stores: a target load and the CPU utilization
# to plan for; the stores' variants sized with one worker, a process's own cost.
TARGET_RPS = 10_000
PLANNED_UTILIZATION = 0.6
SIZED = ("memory-1", "redis-1", "redis-mget-1")
# Server CPU per request: schema 2 measures it in the open loop, below saturation; schema 1
# read it over the saturated closed loop, where it is 1/throughput.
PLOTS = [("throughput", "Throughput per service"), ("latency", "Latency by percentile")]
SERVER_CPU = ("server_open_cpu_us_per_req", "server_cpu_us_per_req")
# (label, dotted path in the environment) of the settings docs/02 shows.
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
    (
        "load generator ceiling checked against (x the fastest service)",
        "loadgen_ceiling.min_headroom",
    ),
    ("closed-loop server busy share checked against", "http.min_busy"),
    ("pyperf settings", "pyperf_args"),
    ("pyperf rounds, interleaved", "pyperf_rounds"),
    ("allocations", "allocations"),
]


def rows_for(sources: Sources, set_name: str, old: str, new: str, metrics: list[str] | None):
    services = sources.results_set(set_name).services
    for name in (old, new):
        if name not in services:
            raise missing(set_name, name)
    pick = (lambda s: {k: v for k, v in s.items() if k in metrics}) if metrics else dict
    return compare_sets(pick(services[old]), pick(services[new]))


def article(sources: Sources, words: list[str]) -> str:
    """`article [SET OLD NEW]`: the article's delta table (default: run unoptimized optimized)."""
    set_name, old, new = words or ["run", "unoptimized", "optimized"]
    context = context_for(sources.results_set(set_name), old, new)
    return render(rows_for(sources, set_name, old, new, None), "article", (old, new), context)


def compare(sources: Sources, words: list[str]) -> str:
    """`compare FORMAT SET OLD NEW [METRIC,...]`: what `python -m kvbench compare` prints."""
    if len(words) not in (4, 5) or words[0] not in ("text", "md"):
        raise KvbenchError("compare takes: text|md SET OLD NEW [METRIC,...]")
    fmt, set_name, old, new = words[:4]
    metrics = words[4].split(",") if len(words) == 5 else None
    context = None if metrics else context_for(sources.results_set(set_name), old, new)
    text = render(rows_for(sources, set_name, old, new, metrics), fmt, (old, new), context)
    return fence(text, "text") if fmt == "text" else text


def environment(sources: Sources, words: list[str]) -> str:
    """`environment [SET]`: the machine and settings the run recorded, as a table."""
    env = sources.environment(words[0] if words else "run")
    lines = ["| setting | value |", "| --- | --- |"]
    for label, path in SETTINGS:
        try:
            lines.append(f"| {label} | {setting(env, path)} |")
        except KvbenchError:
            continue  # a run that did not record it (say, no HTTP layer) skips the line
    packages = env.get("packages") or {}
    listed = ", ".join(f"{k} {v}" for k, v in packages.items() if v)
    return "\n".join(lines + ([f"| packages | {listed} |"] if listed else []))


def capacity(sources: Sources) -> str:
    """`capacity`: server CPU per request, what one core serves, cores for a target load."""
    lines = [
        f"| service | server CPU per request | requests per core-second | cores for "
        f"{TARGET_RPS:,} req/s at {PLANNED_UTILIZATION:.0%} CPU |",
        "| --- | ---: | ---: | ---: |",
    ]
    for service in ("unoptimized", "optimized"):
        stat = server_cpu(sources, service, "run")
        per_core = 1e6 / stat.median
        cores = math.ceil(TARGET_RPS / (per_core * PLANNED_UTILIZATION))
        lines.append(f"| `{service}` | {with_range(stat)} | {number(per_core)} | {cores} |")
    return "\n".join(lines)


def cross_check(sources: Sources) -> str:
    """`cross-check`: the optimized/unoptimized ratio by wrk and by the built-in generator."""
    found = typed(sources.results_set("crosscheck")).extra.get("cross_check") or {}
    if not found:
        raise KvbenchError("the crosscheck run recorded no cross_check (run with --loadgen both)")
    return cross_check_table(found)


def _stat(sources: Sources, service: str, metric: str, set_name: str = "stores") -> Summary | None:
    try:
        return sources.stat(set_name, service, metric)
    except KvbenchError:
        return None  # not measured for this service (no Redis in the memory store's run)


def server_cpu(sources: Sources, service: str, set_name: str = "stores") -> Summary:
    """Server CPU per request below saturation (schema 2), or schema 1's closed-loop figure.

    Neither measured: ask for the current one, which says what is missing (or which target
    makes the run)."""
    found = (_stat(sources, service, name, set_name) for name in SERVER_CPU)
    stat = next((stat for stat in found if stat is not None), None)
    return stat or sources.stat(set_name, service, SERVER_CPU[0])


def _p99(sources: Sources, service: str) -> str:
    """The open-loop p99: of all requests pooled (schema 2), or schema 1's median of trials."""
    pooled = sources.results_set("stores").latency.get(service, {}).get("p99")
    if pooled:
        return quantity(pooled["ms"], "ms")
    return _cell(_stat(sources, service, "http_p99_ms"))


def _cell(stat: Summary | None, ranged: bool = False) -> str:
    if stat is None:
        return "—"
    return with_range(stat) if ranged else quantity(stat.median, stat.unit)


def stores(sources: Sources) -> str:
    """`stores`: every variant's throughput, latency at the common rate and costs per request."""
    run = sources.results_set("stores")
    rate = typed(run).environment.get("http", {}).get("offered_rate")
    at = f" at {number(rate)} req/s" if rate else ""
    lines = [
        f"| variant | what it is | workers | throughput, req/s (95% CI) | p99{at} | server CPU "
        "per request | Redis CPU per request | Redis commands per request | least-loaded "
        "worker's requests |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for service, what in STORES:
        if service.name not in run.services:
            continue
        cells = [
            _cell(_stat(sources, service.name, "http_tps"), ranged=True),
            _p99(sources, service.name),
            with_range(server_cpu(sources, service.name)),
            _cell(_stat(sources, service.name, "redis_cpu_us_per_req")),
            _share(_stat(sources, service.name, "redis_cmds_per_req")),
            _share(_stat(sources, service.name, "worker_request_share_min")),
        ]
        row = [f"`{service.name}`", what, str(service.workers), *cells]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _share(stat: Summary | None) -> str:
    return "—" if stat is None else number(stat.median)


def replicas(sources: Sources, words: list[str]) -> str:
    """`replicas [TARGET_RPS [UTILIZATION]]`: processes and Redis load for a target load."""
    target = float(words[0]) if words else TARGET_RPS
    planned = float(words[1]) if len(words) > 1 else PLANNED_UTILIZATION
    if target <= 0 or not 0 < planned <= 1:
        raise KvbenchError("replicas takes a target above 0 req/s and a utilization in (0, 1]")
    lines = [
        f"| variant | server CPU per request | processes for {number(target)} req/s at "
        f"{planned:.0%} CPU | Redis commands/s | Redis CPU (cores) | a PUT seen by every "
        "process |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    described = dict((s.name, s) for s, _ in STORES)
    for name in SIZED:
        lines.append(_replica_row(sources, described[name].store, name, target, planned))
    return "\n".join(lines) + "\n\n" + _assumptions(target, planned)


def _replica_row(sources: Sources, store: str, name: str, target: float, planned: float) -> str:
    server = server_cpu(sources, name)
    processes = math.ceil(target * server.median / 1e6 / planned)
    commands = _stat(sources, name, "redis_cmds_per_req")
    redis_cpu = _stat(sources, name, "redis_cpu_us_per_req")
    ops = f"{number(target * commands.median)}" if commands else "—"
    cores = f"{number(target * redis_cpu.median / 1e6)}" if redis_cpu else "—"
    shared = "no: each process has its own copy" if store == MEMORY else "yes"
    cells = [f"`{name}`", with_range(server), str(processes), ops, cores, shared]
    return "| " + " | ".join(cells) + " |"


def _assumptions(target: float, planned: float) -> str:
    return (
        f"Assumptions: {number(target)} req/s of the benchmark's GETs; every process is one "
        f"worker on a core of its own, planned at {planned:.0%} of it (the rest is headroom "
        "for spikes, deploys and a failed replica's share), so processes = target x server "
        f"CPU per request / {planned:.0%}; add one for redundancy. Server CPU per request is "
        "the median over the trials of `make bench-stores` on this machine (loopback), read "
        "where the run measured it: below saturation, at the run's common offered rate; "
        "Redis's CPU and commands come from its INFO around the same windows. With MGET the "
        "commands per request depend on how many GETs a process has in flight at once: fewer "
        "concurrent requests per process, smaller batches, up to one command per GET. One "
        "Redis runs commands on one thread: keep its CPU well under one core, or shard the "
        "keys. The memory store needs no Redis, but a PUT answered by one process is "
        "invisible to the others."
    )


def plots(sources: Sources, doc: Path) -> str:
    """`plots`: the report's figures, linked from the results folder."""
    report = sources.results / "REPORT.md"
    if not report.is_file():
        return "No plots in the committed results yet: `make report` draws them."
    shown = []
    for stem, title in PLOTS:
        png = sources.results / "plots" / f"{stem}.png"
        if png.is_file():
            svg = sources.link(png.with_suffix(".svg"), doc)
            shown.append(f"![{title}]({sources.link(png, doc)})\n\n[{title}, SVG]({svg})")
    index = sources.link(report, doc)
    return "\n\n".join([*shown, f"All tables and figures of the run: [{index}]({index})."])


def curve(sources: Sources, doc: Path, curve: str) -> str:
    """`curve NAME`: one of the peers run's scaling curves, as a table and its plot."""
    found = (typed(sources.results_set("peers")).extra.get("curves") or {}).get(curve)
    if not found:
        return f"_The {curve} curve is not in the committed results; run `make bench-peers`._"
    table = curve_table(found, CURVE_POINTS[curve], CURVE_COLUMNS[curve])
    png = sources.results / "peers" / "plots" / f"scaling-{curve}.png"
    if not png.is_file():
        return table
    title = f"Scaling with {CURVE_POINTS[curve]}"
    return f"{table}\n![{title}]({sources.link(png, doc)})"
