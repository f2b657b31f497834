"""HTTP trials: a fresh server per trial, warmed up, measured closed-loop and open-loop.

One trial of one service:
1. start the server (pinned to the server CPU) and wait until it answers;
2. prime it over a few connections, then warm up at the measured concurrency (unrecorded);
3. closed loop for throughput, with the server's CPU time read around the window;
4. open loop at the common offered rate, for latency free of coordinated omission;
5. read peak RSS and the GC pauses of the windows from /debug/vars; stop the server.
The order of trials and everything around them is `kvbench.measure.campaign`'s.
"""

import dataclasses
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import psutil

from kvbench import redis_server
from kvbench.load.config import LoadConfig
from kvbench.load.engine import run_load
from kvbench.load.summary import LoadResult, LoadSummary
from kvbench.load.workload import Probe
from kvbench.load.wrk import run_wrk
from kvbench.processes import START_TIMEOUT_S, RunningServer, running_server
from kvbench.services import Service

PRIMER_CONNECTIONS = 4
Loadgen = Literal["builtin", "wrk"]


@dataclass(frozen=True)
class TrialPlan:
    connections: int = 64
    warmup_s: float = 1.0
    duration_s: float = 4.0
    latency_s: float = 3.0  # the open-loop window; 0 skips it
    rate: float | None = None  # offered requests/s of the open-loop window
    server_cpus: frozenset[int] | None = None
    loadgen: Loadgen = "builtin"  # or "wrk", for the closed-loop window only (a cross-check)
    log_dir: Path | None = None
    # (host, port) -> requests; None is the preloaded 1,000 keys (workload.key_workload).
    workload: Callable[[str, int], list[Probe]] | None = None
    # Also record server_startup_s and loadgen_cpu_share (the load generator's CPU
    # seconds per wall second of the closed window, 1.0 = one whole core).
    extra_metrics: bool = False
    start_timeout_s: float = START_TIMEOUT_S  # a store of a million keys takes a while


@dataclass
class TrialResult:
    metrics: dict[str, float]
    latencies_ns: np.ndarray | None = None


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a server and its live children (granian and uvicorn workers)."""
    process = psutil.Process(pid)
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        with suppress(psutil.NoSuchProcess):
            times = each.cpu_times()
            total += times.user + times.system
    return total


def drive(server: RunningServer, plan: TrialPlan, duration: float, **options) -> LoadResult:
    """One load window against the server; any error fails the trial loudly."""
    config = LoadConfig(server.host, server.port, plan.connections, duration, **options)
    probes = plan.workload(server.host, server.port) if plan.workload else None
    result = run_load(config, probes)
    result.check()  # a trial with any error fails loudly: a fast wrong answer is not fast
    return result


def closed_load(server: RunningServer, plan: TrialPlan) -> LoadSummary:
    """The closed-loop window's summary, from our generator or from wrk; errors fail it."""
    if plan.loadgen != "wrk":
        return drive(server, plan, plan.duration_s).summary()
    summary = run_wrk(server.host, server.port, plan.connections, plan.duration_s)
    summary.check()
    return summary


def closed_window(server: RunningServer, plan: TrialPlan) -> dict[str, float]:
    before = server.debug_vars()  # starts the GC window
    cpu_before = cpu_seconds(server.pid)
    store_before = redis_server.usage(server.store.url) if server.store else None
    own_before, wall_before = time.process_time(), time.monotonic()
    summary = closed_load(server, plan)
    own = (time.process_time() - own_before) / (time.monotonic() - wall_before)
    cpu = cpu_seconds(server.pid) - cpu_before
    after = server.debug_vars()
    gc = after["gc"]["since_last_read"]
    metrics = {
        "http_tps": summary.throughput,
        "server_cpu_us_per_req": cpu / summary.requests * 1e6,
        "gc_pause_max_ms": gc["pause_max_ms"],
        "gc_collections": gc["collections"],
        "http_closed_p99_ms": summary.latency_ms["p99"],
    }
    if store_before and server.store:
        metrics.update(store_metrics(store_before, server.store.url, summary.requests))
    if "workers" in after:
        metrics.update(worker_spread(before["workers"], after["workers"]))
    if plan.extra_metrics:
        metrics["loadgen_cpu_share"] = own
    return metrics


def store_metrics(before: tuple[float, int], url: str, requests: int) -> dict[str, float]:
    """Redis's CPU and commands per request of the window, from two INFO reads around it."""
    cpu, commands = redis_server.usage(url)
    commands -= 1  # the first INFO is among them
    return {
        "redis_cpu_us_per_req": (cpu - before[0]) / requests * 1e6,
        "redis_cmds_per_req": (commands - before[1]) / requests,
    }


def worker_spread(before: list[dict], after: list[dict]) -> dict[str, float]:
    """How evenly the window's requests and new connections fell on the workers."""
    pairs = list(zip(before, after, strict=True))
    requests = [a["counters"]["total"] - b["counters"]["total"] for b, a in pairs]
    accepted = [a["connections"]["accepted"] - b["connections"]["accepted"] for b, a in pairs]
    return {
        "worker_request_share_min": min(requests) / max(sum(requests), 1),
        "worker_connection_share_min": min(accepted) / max(sum(accepted), 1),
    }


def open_window(server: RunningServer, plan: TrialPlan) -> tuple[dict[str, float], LoadResult]:
    result = drive(server, plan, plan.latency_s, mode="open", rate=plan.rate)
    # drive() checked the run: every request answered, at least one.
    ms = np.percentile(result.latencies_ns, [50, 90, 99, 99.9], method="inverted_cdf") / 1e6
    metrics = {
        "http_p50_ms": float(ms[0]),
        "http_p90_ms": float(ms[1]),
        "http_p99_ms": float(ms[2]),
        "http_p999_ms": float(ms[3]),
        "http_achieved_rate": result.throughput,
    }
    return metrics, result


def run_trial(service: Service, plan: TrialPlan, label: str = "") -> TrialResult:
    """One trial of one service on a server of its own."""
    log = plan.log_dir / f"{service.name}{label}.log" if plan.log_dir else None
    cpus = set(plan.server_cpus) if plan.server_cpus else None
    started = time.monotonic()
    timeout = plan.start_timeout_s
    with running_server(service, cpus=cpus, log_path=log, start_timeout_s=timeout) as server:
        startup_s = time.monotonic() - started
        if plan.warmup_s:
            # A primer over a few connections first (first requests, lazy imports), then the
            # warm-up at the measured concurrency, as TechEmpower and granian's runner do.
            primer = dataclasses.replace(
                plan, connections=min(PRIMER_CONNECTIONS, plan.connections)
            )
            drive(server, primer, plan.warmup_s / 2)
            drive(server, plan, plan.warmup_s)
        metrics = closed_window(server, plan)
        latencies = None
        if plan.latency_s and plan.rate:
            open_metrics, result = open_window(server, plan)
            metrics.update(open_metrics)
            latencies = result.latencies_ns
        metrics["server_rss_mb"] = server.debug_vars()["peak_rss_bytes"] / 1e6
        if plan.extra_metrics:
            metrics["server_startup_s"] = startup_s
    return TrialResult(metrics, latencies)
