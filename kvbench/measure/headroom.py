"""The load generator's own ceiling: closed-loop windows against a canned server, one a round.

The canned server does no work, so what the generator reaches against it is the most it
can measure. It is measured between trial rounds, alongside the services, because only
a ceiling measured in the same minutes says the generator was not their bottleneck.
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
from kvbench.load.workload import path_probe
from kvbench.measure.pinning import SERVER_CPU, can_pin
from kvbench.measure.trials import TrialPlan
from kvbench.processes import free_port, stop
from kvbench.results.summary import Summary


@contextmanager
def canned_server() -> Iterator[int]:
    """The canned raw-asyncio server in its own pinned process; yields its port."""
    port = free_port()
    command = [sys.executable, "-m", "kvbench.load.canned", "--port", str(port)]
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


class Headroom:
    """The generator against the canned server: one closed-loop window per `window()` call."""

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
        """As summary.json records it, under environment.loadgen_ceiling."""
        if not self.values:
            return {}
        stored = Summary.of(self.values).to_json()
        return {**stored, "tps": stored["median"], "server": "kvbench.load.canned"}


@contextmanager
def headroom(plan: TrialPlan) -> Iterator[Headroom]:
    """A canned server kept up (idle between windows) for a whole run."""
    with canned_server() as port:
        yield Headroom(port, plan)
