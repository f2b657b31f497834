"""HTTP trials: a fresh server per trial, warmed up, measured closed-loop and open-loop.

One trial of one service:
1. start the server (pinned to the server CPU) and wait until it answers;
2. prime it over a few connections, then warm up at the measured concurrency (unrecorded);
3. closed loop for throughput, the CPU of the server's core (the server's, and a private
   Redis's pinned beside it) read at the window's own start and end: that busy share says
   whether the server set the pace; with `loadgen="both"`, a wrk window on it too;
4. open loop at the common offered rate, for latency free of coordinated omission (every
   request timed from its intended send, its raw record kept), the generator's send lag,
   and the server's CPU per request at that rate, read over that window the same way;
5. read peak RSS and the windows' GC pauses from /debug/vars (a user's app without it:
   peak RSS from /proc, no GC figures); stop the server.
Trials' order and all around them: `kvbench.measure.campaign`.
"""

import dataclasses
import sys
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
from kvbench.load.requests import RequestSpec
from kvbench.load.summary import LoadResult, LoadSummary
from kvbench.load.workload import Probe
from kvbench.load.wrk import run_wrk
from kvbench.processes import START_TIMEOUT_S, RunningServer, running_server
from kvbench.results.latency import percentile_ms, trial_percentiles
from kvbench.services import Service

PRIMER_CONNECTIONS = 4
# "both": the built-in generator's closed window and a wrk window alternate on each server.
Loadgen = Literal["builtin", "wrk", "both"]


@dataclass(frozen=True)
class TrialPlan:
    connections: int = 64
    warmup_s: float = 1.0
    duration_s: float = 4.0
    latency_s: float = 3.0  # the open-loop window; 0 skips it
    rate: float | None = None  # offered requests/s of the open-loop window
    server_cpus: frozenset[int] | None = None
    loadgen: Loadgen = "builtin"  # wrk for the closed loop, or both (a cross-check)
    wrk_first: bool = False  # with "both": wrk's window before the built-in one
    log_dir: Path | None = None
    # (host, port) -> requests; None is the preloaded 1,000 keys (workload.key_workload).
    workload: Callable[[str, int], list[Probe]] | None = None
    extra_metrics: bool = False  # also record server_startup_s
    start_timeout_s: float = START_TIMEOUT_S  # a store of a million keys takes a while
    ready: RequestSpec | None = None  # a user's app is ready once it answers this right


@dataclass
class TrialResult:
    metrics: dict[str, float]
    open_loop: LoadResult | None = None  # the open-loop window's raw records

    @property
    def latencies_ns(self) -> np.ndarray | None:
        """The open loop's answered requests, answered - intended (ns)."""
        return self.open_loop.latencies_ns if self.open_loop is not None else None


def process_cpu_seconds(process: psutil.Process) -> float:
    """One process's CPU time, every thread, to the nanosecond where Linux offers it.

    /proc and psutil count in 10 ms ticks (7% of a fast server's CPU in a 3 s window). A
    process's CPU-time clock (the scheduler's runtime) is read with clock_gettime: its id
    is ((~pid) << 3) | 2, the kernel's MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)."""
    if sys.platform == "linux":
        with suppress(OSError):
            return time.clock_gettime(((~process.pid) << 3) | 2)
    times = process.cpu_times()
    return times.user + times.system


def core_processes(pids: tuple[int, ...]) -> list[psutil.Process]:
    """The processes given and their live children (granian and uvicorn workers)."""
    found = []
    for pid in pids:
        with suppress(psutil.NoSuchProcess):
            process = psutil.Process(pid)
            found += [process, *process.children(recursive=True)]
    return found


def cpu_sum(processes: list[psutil.Process]) -> float:
    total = 0.0
    for each in processes:
        with suppress(psutil.NoSuchProcess, ProcessLookupError):
            total += process_cpu_seconds(each)
    return total


# Read from another CPU, a running process's CPU clock advances only at that CPU's scheduler
# tick (every 4 ms at CONFIG_HZ=250, this machine's kernel; measured: 4.0 ms steps): a reading
# is up to a tick old. Over a 1 s window that reads a saturated server as up to 1.004 busy.
TICK_WAIT_S = 0.011  # longer than a tick at HZ=100, the coarsest Linux setting


def ticked_cpu(process: psutil.Process) -> tuple[float, float, float]:
    """(wall before, CPU seconds, wall after): a CPU reading exact at some instant in between.

    Wait for the clock to step: the step is the tick's exact update, and the tick fell
    after the last read that saw the old value began. A process that does not run within
    TICK_WAIT_S was asleep, and a sleeping process's clock is exact all along.
    """
    start = time.perf_counter()
    old = process_cpu_seconds(process)
    began = start
    while (now := time.perf_counter()) - start < TICK_WAIT_S:
        value = process_cpu_seconds(process)
        if value != old:
            return began, value, time.perf_counter()
        began = now
    return start, old, time.perf_counter()


def ticked_sum(processes: list[psutil.Process]) -> tuple[float, float, float]:
    """`ticked_cpu` over several processes: the earliest start, the sum, the latest end."""
    readings = []
    for each in processes:
        with suppress(psutil.NoSuchProcess, ProcessLookupError):
            readings.append(ticked_cpu(each))
    if not readings:
        now = time.perf_counter()
        return now, 0.0, now
    return min(r[0] for r in readings), sum(r[1] for r in readings), max(r[2] for r in readings)


class WindowMarks:
    """The clock, the server's CPU and our own CPU at the load generator's window instants.

    The server's CPU is that of every process given: the server and its children, and for
    the busy share a private Redis that shares the server's pinned core.

    The wall clock brackets the CPU reads: the window's wall time runs from just before the
    first read at "start" to just after the last at "end". Finding the processes (psutil
    scans /proc for children: milliseconds on a busy machine) happens before the bracket.
    With the clock read before a slow CPU read, as it once was, those milliseconds' CPU
    at "end" fell in the window and their wall time did not: busy shares above 1."""

    def __init__(self, *pids: int, find=core_processes, read=cpu_sum, ticked=False) -> None:
        self.pids, self.find, self.read, self.ticked = pids, find, read, ticked
        self.marks: dict[str, tuple[float, float, float, float]] = {}

    def __call__(self, event: str) -> None:
        """Mark an instant; `ticked` (for a busy share) waits up to a tick for exact CPU."""
        processes = self.find(self.pids)
        if self.ticked:
            before, cpu, after = ticked_sum(processes)
            self.marks[event] = (before, cpu, time.process_time(), after)
            return
        before = time.perf_counter()
        cpu, own = self.read(processes), time.process_time()
        self.marks[event] = (before, cpu, own, time.perf_counter())

    def spent(self) -> tuple[float, float, float]:
        """Wall seconds, server CPU seconds and load generator CPU seconds between the marks."""
        start, end = self.marks["start"], self.marks["end"]
        return end[3] - start[0], end[1] - start[1], end[2] - start[2]


def drive(
    server: RunningServer, plan: TrialPlan, duration: float, marks=None, warming=False, **options
) -> LoadResult:
    """One load window against the server; any error fails the trial loudly.

    A warming window may end with nothing answered (a fresh naive server's first answers
    can take longer than a short primer on a busy machine); a wrong answer still fails it.
    """
    config = LoadConfig(server.host, server.port, plan.connections, duration, **options)
    probes = plan.workload(server.host, server.port) if plan.workload else None
    result = run_load(config, probes, marks)
    summary = result.summary()
    if summary.errors or summary.warmup_errors or not warming:
        summary.check()  # a trial with any error fails loudly: a fast wrong answer is not fast
    return result


def closed_builtin(server: RunningServer, plan: TrialPlan) -> dict[str, float]:
    """The built-in generator's closed window: throughput, server busy share, our CPU share.

    The busy share is of the server's core: when pinned, a private Redis runs there too
    (`processes.running_server` pins it with the server), so its CPU counts; a saturated
    core is busy whichever of the two is running.
    """
    # Ticked: the marks sit outside the counted window (before its start, after its end),
    # so waiting there for a tick delays no counted answer.
    marks = WindowMarks(*core_pids(server, bool(plan.server_cpus)), ticked=True)
    summary = drive(server, plan, plan.duration_s, marks).summary()
    wall, server_cpu, own_cpu = marks.spent()
    metrics = {
        "http_tps": summary.throughput,
        "server_busy": server_cpu / wall,
        "loadgen_cpu_share": own_cpu / wall,
    }
    if summary.latency_ms["p99"] is not None:
        metrics["http_closed_p99_ms"] = summary.latency_ms["p99"]
    return metrics


def core_pids(server: RunningServer, pinned: bool) -> tuple[int, ...]:
    """The processes on the server's core: the server, and the Redis the run started and
    pinned beside it (unpinned, Redis may run on any CPU, and its CPU is its own)."""
    store_pid = server.store.pid if server.store and pinned else None
    return (server.pid, store_pid) if store_pid else (server.pid,)


def closed_wrk(server: RunningServer, plan: TrialPlan) -> tuple[float, float]:
    """A wrk window (statuses checked, not bodies): throughput, and the server core's busy
    share read around the whole wrk run (wrk has no hook at its window's instants)."""
    marks = WindowMarks(*core_pids(server, bool(plan.server_cpus)), ticked=True)
    marks("start")
    summary: LoadSummary = run_wrk(server.host, server.port, plan.connections, plan.duration_s)
    marks("end")
    summary.check()
    wall, server_cpu, _ = marks.spent()  # wrk's start and stop included: at most 1 a core
    return summary.throughput, server_cpu / wall


def closed_window(server: RunningServer, plan: TrialPlan) -> dict[str, float]:
    has_vars = server.has_debug_vars()
    before = server.debug_vars() if has_vars else {}  # starts the GC window
    if plan.loadgen == "wrk":
        tps, busy = closed_wrk(server, plan)
        metrics = {"http_tps": tps, "server_busy": busy}
    elif plan.loadgen == "both" and plan.wrk_first:
        wrk_tps = closed_wrk(server, plan)[0]
        metrics = closed_builtin(server, plan) | {"http_wrk_tps": wrk_tps}
    elif plan.loadgen == "both":
        metrics = closed_builtin(server, plan)
        metrics["http_wrk_tps"] = closed_wrk(server, plan)[0]
    else:
        metrics = closed_builtin(server, plan)
    if not has_vars:  # no GC figures without the app's own count of them
        return metrics
    after = server.debug_vars()
    if "workers" in after:  # several worker processes: how evenly the window fell on them
        metrics.update(worker_spread(before["workers"], after["workers"]))
    gc = after["gc"]["since_last_read"]
    return metrics | {"gc_pause_max_ms": gc["pause_max_ms"], "gc_collections": gc["collections"]}


def peak_rss_bytes(server: RunningServer) -> float:
    """The server's peak RSS: from /debug/vars, else the kernel's high-water mark (VmHWM)."""
    if server.has_debug_vars():
        return server.debug_vars()["peak_rss_bytes"]
    with suppress(OSError, ValueError), open(f"/proc/{server.pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return psutil.Process(server.pid).memory_info().rss


def store_metrics(before: tuple[float, int], url: str, requests: int) -> dict[str, float]:
    """Redis's CPU and commands per answered request, from two INFO reads around a window."""
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


def open_metrics(result: LoadResult) -> dict[str, float]:
    """An open-loop window's figures: latency from the intended send (the wrk2 convention),
    service time from the actual send, the generator's send lag (sent - intended, nearest
    rank over every measured request) and the answers that arrived inside the window."""
    metrics = {
        f"http_trial_{name}_ms": ms for name, ms in trial_percentiles(result.latencies_ns).items()
    }
    service = trial_percentiles(result.service_ns)
    for name in ("p50", "p99"):
        if name in service:
            metrics[f"http_service_{name}_ms"] = service[name]
    lag = result.send_lag_ns
    if lag.size:
        metrics["http_send_lag_p50_ms"] = percentile_ms(lag, "50")
        metrics["http_send_lag_p99_ms"] = percentile_ms(lag, "99")
        metrics["http_send_lag_p999_ms"] = percentile_ms(lag, "99.9")
        metrics["http_send_lag_max_ms"] = float(lag.max()) / 1e6
    if (answered := result.summary().answered_rate) is not None:
        metrics["http_open_answered_rate"] = answered
    return metrics


def open_window(server: RunningServer, plan: TrialPlan) -> tuple[dict[str, float], LoadResult]:
    """Latency at the offered rate, and the server's CPU per request at that rate."""
    marks = WindowMarks(server.pid)
    store_before = redis_server.usage(server.store.url) if server.store else None
    result = drive(server, plan, plan.latency_s, marks, mode="open", rate=plan.rate)
    # drive() checked the run: every request answered, at least one.
    _, server_cpu, _ = marks.spent()
    metrics = open_metrics(result)
    metrics["server_open_cpu_us_per_req"] = server_cpu / result.requests * 1e6
    if store_before and server.store:  # Redis's own work, below saturation like the server's
        metrics.update(store_metrics(store_before, server.store.url, result.requests))
    return metrics, result


def run_trial(service: Service, plan: TrialPlan, label: str = "") -> TrialResult:
    """One trial of one service on a server of its own."""
    log = plan.log_dir / f"{service.name}{label}.log" if plan.log_dir else None
    cpus = set(plan.server_cpus) if plan.server_cpus else None
    started = time.monotonic()
    timeout = plan.start_timeout_s
    with running_server(
        service, cpus=cpus, log_path=log, start_timeout_s=timeout, ready=plan.ready
    ) as server:
        startup_s = time.monotonic() - started
        if plan.warmup_s:
            # A primer over a few connections first (first requests, lazy imports), then the
            # warm-up at the measured concurrency, as TechEmpower and granian's runner do.
            primer = dataclasses.replace(
                plan, connections=min(PRIMER_CONNECTIONS, plan.connections)
            )
            drive(server, primer, plan.warmup_s / 2, warming=True)
            drive(server, plan, plan.warmup_s, warming=True)
        metrics = closed_window(server, plan)
        open_loop = None
        if plan.latency_s and plan.rate:
            measured, open_loop = open_window(server, plan)
            metrics.update(measured)
        metrics["server_rss_mb"] = peak_rss_bytes(server) / 1e6
        if plan.extra_metrics:
            metrics["server_startup_s"] = startup_s
    return TrialResult(metrics, open_loop)
