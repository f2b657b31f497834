"""The load generator's own ceiling: closed-loop windows against a canned server, one a round.

The canned server answers each key with the exact bytes a service sends, precomputed, so
what the generator reaches against it (same workload, every answer checked as in a trial)
is the most it can measure, provided the canned server itself was not the limit: its CPU
share of each window is recorded beside the ceiling, and a ceiling whose canned server
was busy MAX_CANNED_BUSY or more is only a lower bound of the generator's ("at least").
The ceiling is a diagnostic, not a check: whether the server was the limit is judged by
direct evidence (`checks.py`).
"""

import dataclasses
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from kvbench import KvbenchError
from kvbench.load.config import LoadConfig
from kvbench.load.engine import run_load
from kvbench.load.workload import key_workload
from kvbench.measure.trials import TrialPlan, WindowMarks
from kvbench.processes import child_setup, free_port, stop
from kvbench.results.summary import Summary

MAX_CANNED_BUSY = 0.95  # the canned server's CPU share at which it, not the generator, limits


@contextmanager
def canned_server(cpus: frozenset[int] | None = None) -> Iterator[tuple[int, int]]:
    """The canned raw-asyncio server in its own process, on the servers' CPUs; yields its port
    and pid.

    The CPUs are said explicitly: started by the load generator, which has already pinned
    itself to its own CPU, the child would otherwise inherit that CPU and share it with the
    generator, and the ceiling would measure the two on one core.
    """
    port = free_port()
    command = [sys.executable, "-m", "kvbench.load.canned", "--port", str(port)]
    for cpu in sorted(cpus or ()):
        command += ["--cpu", str(cpu)]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, start_new_session=True, preexec_fn=child_setup
    )
    try:
        wait_for_port(port, process)
        yield port, process.pid
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


class Headroom:
    """The generator against the canned server: one closed-loop window per `window()` call."""

    def __init__(self, port: int, pid: int, plan: TrialPlan) -> None:
        self.config = LoadConfig("127.0.0.1", port, plan.connections, plan.duration_s)
        self.probes = key_workload("127.0.0.1", port)  # as the services are loaded
        self.pid = pid
        self.values: list[float] = []
        self.canned_busy: list[float] = []
        if plan.warmup_s:
            run_load(dataclasses.replace(self.config, duration_s=plan.warmup_s), self.probes)

    def window(self) -> float:
        marks = WindowMarks(self.pid, ticked=True)
        result = run_load(self.config, self.probes, marks)
        result.check()
        wall, canned_cpu, _ = marks.spent()
        self.values.append(result.throughput)
        self.canned_busy.append(canned_cpu / wall)
        return result.throughput

    def summary(self) -> dict:
        """As summary.json records it, under environment.loadgen_ceiling."""
        if not self.values:
            return {}
        stored = Summary.of(self.values).to_json()
        workload = "the 1,000 preloaded keys, every answer checked byte for byte"
        busy = max(self.canned_busy)
        return {**stored, "tps": stored["median"], "server": "kvbench.load.canned",
                "workload": workload, "canned_busy_max": busy,
                "lower_bound": busy >= MAX_CANNED_BUSY}  # fmt: skip


@contextmanager
def headroom(plan: TrialPlan) -> Iterator[Headroom]:
    """A canned server kept up (idle between windows) for a whole run."""
    with canned_server(plan.server_cpus) as (port, pid):
        yield Headroom(port, pid, plan)
