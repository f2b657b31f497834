"""HTTP trials: a fresh server per trial, warmed up, measured closed-loop and open-loop.

One trial of one service:
1. start the server (pinned to the server CPU) and wait until it answers;
2. warm up at the measured concurrency (unrecorded);
3. closed loop for throughput, with the server's CPU time read around the window;
4. open loop at the common offered rate, for latency free of coordinated omission;
5. read peak RSS and the GC pauses of the windows from /debug/vars; stop the server.
Services alternate trial by trial (A B A B ...) so drift on a shared machine hits both.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil

from kvbench.loadgen import LoadConfig, LoadResult, run_load
from kvbench.server import RunningServer, running_server
from kvbench.services import Service


@dataclass(frozen=True)
class TrialPlan:
    connections: int = 64
    warmup_s: float = 1.0
    duration_s: float = 4.0
    latency_s: float = 3.0  # the open-loop window; 0 skips it
    rate: float | None = None  # offered requests/s of the open-loop window
    server_cpus: frozenset[int] | None = None
    log_dir: Path | None = None


@dataclass
class TrialResult:
    metrics: dict[str, float]
    latencies_ns: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def load(server: RunningServer, plan: TrialPlan, duration: float, **options) -> LoadResult:
    config = LoadConfig(server.host, server.port, plan.connections, duration, **options)
    result = run_load(config)
    result.check()  # a trial with any error fails loudly: a fast wrong answer is not fast
    return result


def closed_window(server: RunningServer, plan: TrialPlan) -> dict[str, float]:
    server.debug_vars()  # starts the GC window
    cpu_before = cpu_seconds(server.pid)
    result = load(server, plan, plan.duration_s)
    cpu = cpu_seconds(server.pid) - cpu_before
    gc = server.debug_vars()["gc"]["since_last_read"]
    return {
        "http_tps": result.throughput,
        "server_cpu_us_per_req": cpu / result.requests * 1e6,
        "gc_pause_max_ms": gc["pause_max_ms"],
        "gc_collections": gc["collections"],
        "http_closed_p99_ms": result.percentile_ms(99),
    }


def open_window(server: RunningServer, plan: TrialPlan) -> tuple[dict[str, float], LoadResult]:
    result = load(server, plan, plan.latency_s, mode="open", rate=plan.rate)
    metrics = {
        "http_p50_ms": result.percentile_ms(50),
        "http_p90_ms": result.percentile_ms(90),
        "http_p99_ms": result.percentile_ms(99),
        "http_p999_ms": result.percentile_ms(99.9),
        "http_achieved_rate": result.achieved_rate,
    }
    return metrics, result


def run_trial(service: Service, plan: TrialPlan, label: str = "") -> TrialResult:
    """One trial of one service on a server of its own."""
    log = plan.log_dir / f"{service.name}{label}.log" if plan.log_dir else None
    cpus = set(plan.server_cpus) if plan.server_cpus else None
    with running_server(service, cpus=cpus, log_path=log) as server:
        load(server, plan, plan.warmup_s)
        metrics = closed_window(server, plan)
        latencies = None
        if plan.latency_s and plan.rate:
            open_metrics, result = open_window(server, plan)
            metrics.update(open_metrics)
            latencies = result.latencies_ns
        metrics["server_rss_mb"] = server.debug_vars()["peak_rss_bytes"] / 1e6
    return TrialResult(metrics, latencies)


def interleave(
    services: list[Service],
    plan: TrialPlan,
    trials: int,
    progress: Callable[[str], None] = lambda text: None,
) -> dict[str, list[TrialResult]]:
    """`trials` trials of each service, alternating A B A B ..., in one run."""
    results: dict[str, list[TrialResult]] = {s.name: [] for s in services}
    for trial in range(trials):
        for service in services:
            progress(f"{service.name} trial {trial + 1}/{trials}")
            results[service.name].append(run_trial(service, plan, f"-{trial}"))
    return results
