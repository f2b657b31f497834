"""Sizing from measured costs: cores for a target load, and the stores part's REPORT.md.

The stores part (`make bench-stores`) measures the optimized service with its answers in
each process, on Redis GET by GET, and on Redis with MGET batching, one worker and two, in
one interleaved run. Server CPU per request is read below saturation, in the open loop
(schema 2); schema 1 read it over the saturated closed loop, where it is 1/throughput.
"""

import math
from pathlib import Path

from kvbench import KvbenchError
from kvbench.report import fields
from kvbench.report.checks import flag_notes, flagged
from kvbench.report.formatting import number, quantity, with_range
from kvbench.report.tables import md_row
from kvbench.results.resultset import ResultSet
from kvbench.results.summary import Summary
from kvbench.services import MEMORY, STORES

# A target load and the CPU utilization to plan for (the rest is headroom).
TARGET_RPS = 10_000
PLANNED_UTILIZATION = 0.6
SIZED = ("memory-1", "redis-1", "redis-mget-1")  # one worker each: a process's own cost
SERVER_CPU = ("server_open_cpu_us_per_req", "server_cpu_us_per_req")


def _stat(run: ResultSet, service: str, metric: str) -> Summary | None:
    return run.services.get(service, {}).get(metric)  # None: not measured for this service


def server_cpu(run: ResultSet, service: str) -> Summary:
    """Server CPU per request below saturation, or schema 1's closed-loop figure."""
    found = next((s for m in SERVER_CPU if (s := _stat(run, service, m)) is not None), None)
    if found is None:
        raise KvbenchError(f"{run.path}: no server CPU per request for {service!r}")
    return found


def capacity(run: ResultSet) -> str:
    """Server CPU per request, what one core serves, cores for the target load."""
    lines = [md_row(["service", "server CPU per request", "requests per core-second",
                    f"cores for {TARGET_RPS:,} req/s at {PLANNED_UTILIZATION:.0%} CPU"]),
             md_row(["---", "---:", "---:", "---:"])]  # fmt: skip
    for service in ("unoptimized", "optimized"):
        stat = server_cpu(run, service)
        per_core = 1e6 / stat.median
        cores = math.ceil(TARGET_RPS / (per_core * PLANNED_UTILIZATION))
        lines.append(md_row([f"`{service}`", with_range(stat), number(per_core), str(cores)]))
    return "\n".join(lines)


def _cell(stat: Summary | None, shown=lambda s: quantity(s.median, s.unit)) -> str:
    return "—" if stat is None else shown(stat)


def stores(run: ResultSet) -> str:
    """Every variant's throughput, p99 at the common rate and costs per request."""
    rate = fields.offered_rate(run.environment)
    lines = [md_row(["variant", "what it is", "workers", "throughput, req/s (95% CI)",
                    f"p99{f' at {number(rate)} req/s' if rate else ''}",
                    "server CPU per request", "Redis CPU per request",
                    "Redis commands per request", "least-loaded worker's requests"]),
             md_row(["---"] * 2 + ["---:"] * 7)]  # fmt: skip
    checks = run.run.checks if run.run else {}
    late, slowed = flagged(checks)
    for service, what in STORES:
        if service.name not in run.services:
            continue
        pooled = run.latency.get(service.name, {}).get("p99")  # schema 2: all requests pooled
        p99 = quantity(pooled["ms"], "ms") if pooled else _cell(_stat(run, service.name,
                                                                      "http_p99_ms"))  # fmt: skip
        cells = [
            _cell(_stat(run, service.name, "http_tps"), with_range)
            + (" ‡" if service.name in slowed else ""),
            p99 + (" †" if service.name in late else ""),
            with_range(server_cpu(run, service.name)),
            _cell(_stat(run, service.name, "redis_cpu_us_per_req")),
            _cell(_stat(run, service.name, "redis_cmds_per_req"), lambda s: number(s.median)),
            _cell(_stat(run, service.name, "worker_request_share_min"), lambda s: number(s.median)),
        ]
        lines.append(md_row([f"`{service.name}`", what, str(service.workers), *cells]))
    notes = flag_notes(checks).strip()
    return "\n".join(lines) + (f"\n\n{notes}" if notes else "")


def replicas(run: ResultSet, target: float = TARGET_RPS, planned: float = PLANNED_UTILIZATION):
    """Processes and Redis load for a target load, from the one-worker variants' costs."""
    if target <= 0 or not 0 < planned <= 1:
        raise KvbenchError("replicas takes a target above 0 req/s and a utilization in (0, 1]")
    lines = [md_row(["variant", "server CPU per request",
                    f"processes for {number(target)} req/s at {planned:.0%} CPU",
                    "Redis commands/s", "Redis CPU (cores)", "a PUT seen by every process"]),
             md_row(["---"] + ["---:"] * 4 + ["---"])]  # fmt: skip
    stores_of = {s.name: s.store for s, _ in STORES}
    for name in SIZED:
        server = server_cpu(run, name)
        commands, redis = (_stat(run, name, m) for m in ("redis_cmds_per_req",
                                                          "redis_cpu_us_per_req"))  # fmt: skip
        lines.append(md_row([
            f"`{name}`", with_range(server), str(math.ceil(target * server.median / 1e6 / planned)),
            number(target * commands.median) if commands else "—",
            number(target * redis.median / 1e6) if redis else "—",
            "no: each process has its own copy" if stores_of[name] == MEMORY else "yes",
        ]))  # fmt: skip
    return (
        "\n".join(lines)
        + "\n\n"
        + ASSUMPTIONS.format(target=number(target), planned=f"{planned:.0%}")
    )


ASSUMPTIONS = (
    "Assumptions: {target} req/s of the benchmark's GETs; every process is one worker on a "
    "core of its own, planned at {planned} of it (the rest is headroom for spikes, deploys "
    "and a failed replica's share), so processes = target x server CPU per request / "
    "{planned}; add one for redundancy. Server CPU per request is the median over the "
    "trials of `make bench-stores` on this machine (loopback), read where the run measured "
    "it: below saturation, at the run's common offered rate; Redis's CPU and commands come "
    "from its INFO around the same windows. With MGET the commands per request depend on "
    "how many GETs a process has in flight at once: fewer concurrent requests per process, "
    "smaller batches, up to one command per GET. One Redis runs commands on one thread: keep "
    "its CPU well under one core, or shard the keys. The memory store needs no Redis, but a "
    "PUT answered by one process is invisible to the others."
)


def write_report(folder: Path, run: ResultSet) -> Path:
    """The stores part's REPORT.md: every variant, then the replicas for the target load."""
    report = folder / "REPORT.md"
    report.write_text(
        "# Shared stores\n\nGenerated by `kvbench promote` from this folder's summary.json; "
        f"regenerate it rather than editing it.\n\n{stores(run)}\n\n## Replicas for a target "
        f"load\n\n{replicas(run)}\n",
        encoding="utf-8",
    )
    return report
