"""What every HTTP run shares: pinning, the load generator's own ceiling, the common rate.

The ceiling is the load generator against a canned server that does no work. It is
measured between trial rounds, not once up front, because this machine's speed drifts
over minutes and only a ceiling measured alongside the services says it was not the
bottleneck for them.
"""

import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from kvbench import KvbenchError
from kvbench.loadgen import LoadConfig, path_probe, run_load
from kvbench.server import free_port, pin, stop
from kvbench.services import Service
from kvbench.stats import summarize
from kvbench.trials import TrialPlan, interleave

SERVER_CPU, LOADGEN_CPU = 0, 1
LATENCY_LOAD = 0.5  # the open-loop rate, as a share of the slowest service's throughput


def can_pin() -> bool:
    return hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2


def pin_loadgen() -> str:
    """Pin this process (the load generator) to its CPU; says what was done, for the results."""
    if can_pin() and pin(os.getpid(), {LOADGEN_CPU}):
        return f"server on CPU {SERVER_CPU}, load generator on CPU {LOADGEN_CPU}"
    return "none: fewer than two CPUs or no sched_setaffinity on this OS"


def common_rate(services: list[Service], plan: TrialPlan, progress: Callable) -> float:
    """Half the slowest service's throughput, rounded: a rate every service sustains."""
    progress("calibrating the common open-loop rate")
    short = dataclasses.replace(plan, duration_s=min(plan.duration_s, 2.0), latency_s=0)
    tps = [interleave([s], short, 1)[s.name][0].metrics["http_tps"] for s in services]
    return float(f"{min(tps) * LATENCY_LOAD:.2g}")  # a round number to reuse with --rate


@contextmanager
def canned_server() -> Iterator[int]:
    """The canned raw-asyncio server in its own pinned process; yields its port."""
    port = free_port()
    command = [sys.executable, "-m", "kvbench.canned", "--port", str(port)]
    if can_pin():
        command += ["--cpu", str(SERVER_CPU)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_port(port, process)
        yield port
    finally:
        stop(process)  # also when Ctrl-C lands while it is still starting


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise KvbenchError("the canned server did not start")


class Ceiling:
    """Closed-loop windows against the canned server, one per trial round."""

    def __init__(self, port: int, plan: TrialPlan) -> None:
        self.config = LoadConfig("127.0.0.1", port, plan.connections, plan.duration_s)
        self.probes = [path_probe("127.0.0.1", port, "/get?key=key-0042")]
        self.values: list[float] = []
        if plan.warmup_s:
            run_load(dataclasses.replace(self.config, duration_s=plan.warmup_s), self.probes)

    def window(self) -> None:
        result = run_load(self.config, self.probes)
        result.check()
        self.values.append(result.throughput)

    def summary(self) -> dict:
        return {**summarize(self.values), "tps": summarize(self.values)["median"],
                "server": "kvbench.canned", "interleaved": True}  # fmt: skip


@contextmanager
def ceiling(plan: TrialPlan) -> Iterator[Ceiling]:
    """A canned server kept up (idle between windows) for the whole run; measure with `window`."""
    with canned_server() as port:
        yield Ceiling(port, plan)
