"""The shared store in the docs: the stores compared, and replicas sized from their costs.

Both blocks read `bench-results/stores/` (`make bench-stores`): the optimized service
with its answers in each process, on Redis GET by GET, and on Redis with MGET batching,
one worker and two, measured in one interleaved run.
"""

import math

from kvbench import KvbenchError
from kvbench.docgen.sources import Sources, typed
from kvbench.report.formatting import number, quantity, with_range
from kvbench.results.summary import Summary
from kvbench.services import MEMORY, STORES

# The sizing example: a target load and the share of each core to plan for.
TARGET_RPS = 10_000
PLANNED_UTILIZATION = 0.6
SIZED = ("memory-1", "redis-1", "redis-mget-1")  # one worker: a process's own cost
# Server CPU per request: schema 2 measures it in the open loop, below saturation; schema 1
# read it over the saturated closed loop, where it is 1/throughput.
SERVER_CPU = ("server_open_cpu_us_per_req", "server_cpu_us_per_req")


def _stat(sources: Sources, service: str, metric: str) -> Summary | None:
    try:
        return sources.stat("stores", service, metric)
    except KvbenchError:
        return None  # not measured for this variant (no Redis in the memory store's run)


def _server_cpu(sources: Sources, service: str) -> Summary | None:
    found = (_stat(sources, service, name) for name in SERVER_CPU)
    return next((stat for stat in found if stat is not None), None)


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


def stores(sources: Sources, words: list[str]) -> str:
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
            _cell(_server_cpu(sources, service.name), ranged=True),
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
    # Neither measured: ask for the current one, which says what is missing (or which
    # target makes the run).
    server = _server_cpu(sources, name) or sources.stat("stores", name, SERVER_CPU[0])
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
