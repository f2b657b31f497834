"""Result tables for the docs: the article's table, compare output, settings, capacity."""

import math

from kvbench import KvbenchError
from kvbench.docgen.snippets import fence
from kvbench.docgen.sources import Sources, missing, typed
from kvbench.docgen.values import setting
from kvbench.report.bench import cross_check_table
from kvbench.report.formatting import number, quantity
from kvbench.report.hostile import table as hostile_table
from kvbench.report.tables import context_for, render
from kvbench.results.compare import compare_sets

# Sizing example of docs/06 (workers): a target load and the CPU utilization to plan for.
TARGET_RPS = 10_000
PLANNED_UTILIZATION = 0.6
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


def cpu_per_request(sources: Sources, set_name: str, service: str):
    """Server CPU per request below saturation (schema 2), or schema 1's closed-loop figure."""
    metrics = sources.results_set(set_name).services.get(service) or {}
    name = "server_open_cpu_us_per_req"
    return sources.stat(set_name, service, name if name in metrics else "server_cpu_us_per_req")


def capacity(sources: Sources, words: list[str]) -> str:
    """`capacity`: server CPU per request, what one core serves, cores for a target load."""
    lines = [
        f"| service | server CPU per request | requests per core-second | cores for "
        f"{TARGET_RPS:,} req/s at {PLANNED_UTILIZATION:.0%} CPU |",
        "| --- | ---: | ---: | ---: |",
    ]
    for service in ("unoptimized", "optimized"):
        stat = cpu_per_request(sources, "run", service)
        per_core = 1e6 / stat.median
        cores = math.ceil(TARGET_RPS / (per_core * PLANNED_UTILIZATION))
        cost = quantity(stat.median, stat.unit)
        if stat.ci:
            cost += f" ({number(stat.ci[0])} to {number(stat.ci[1])})"
        lines.append(f"| `{service}` | {cost} | {number(per_core)} | {cores} |")
    return "\n".join(lines)


def cross_check(sources: Sources) -> str:
    """`cross-check`: the optimized/unoptimized ratio by wrk and by the built-in generator."""
    found = typed(sources.results_set("crosscheck")).extra.get("cross_check") or {}
    if not found:
        raise KvbenchError("the crosscheck run recorded no cross_check (run with --loadgen both)")
    return cross_check_table(found)


def hostile(sources: Sources) -> str:
    """`hostile`: what each served configuration did with slow and oversized clients."""
    return hostile_table(sources.part_json("hostile"))
