"""Was the server the limit? Slow the load generator on purpose and see if the server notices.

    python -m kvbench.measure.sensitivity --ballast 0.33 --cpu 1   (the ballast alone)

A ballast process pinned to the generator's CPU spins for a share of every 3 ms and sleeps
for the rest, so the generator keeps about (1 - share) of its core. On one server, kept up
for the whole check, closed-loop windows with and without the ballast alternate (normal,
slowed, slowed, normal, ...). If the server, not the generator, set the pace, the slowed
windows reach the same throughput as the normal ones, within the noise of the normal
windows themselves; a generator that was the limit loses about the share the ballast took.
"""

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import psutil

from kvbench.measure.checks import BALLAST_SHARE  # the generator keeps about two thirds
from kvbench.measure.trials import TrialPlan, closed_window
from kvbench.processes import child_setup, running_server, stop
from kvbench.results.summary import Summary
from kvbench.services import Service

PERIOD_S = 0.003
PAIRS = 3  # normal and slowed windows, alternating


def spin(share: float, period_s: float = PERIOD_S) -> None:
    """The ballast: busy for `share` of every period, asleep for the rest, until killed."""
    while True:
        until = time.perf_counter() + share * period_s
        while time.perf_counter() < until:
            pass
        time.sleep((1 - share) * period_s)


@contextmanager
def ballast(cpus: set[int], share: float = BALLAST_SHARE) -> Iterator[psutil.Process]:
    """The ballast process on `cpus` (the generator's), stopped on exit."""
    command = [sys.executable, "-m", "kvbench.measure.sensitivity", "--ballast", str(share)]
    setup = partial(child_setup, cpus)  # pinned from its start, gone with the harness
    process = subprocess.Popen(command, start_new_session=True, preexec_fn=setup)
    try:
        yield psutil.Process(process.pid)
    finally:
        stop(process)


def windows(server, plan: TrialPlan, slowed: bool, cpus: set[int]) -> tuple[float, float]:
    """One closed-loop window: throughput, and the ballast's measured share of its core."""
    if not slowed:
        return closed_window(server, plan)["http_tps"], 0.0
    with ballast(cpus) as process:
        time.sleep(0.2)  # let it start spinning
        before, started = process.cpu_times(), time.monotonic()
        tps = closed_window(server, plan)["http_tps"]
        after, wall = process.cpu_times(), time.monotonic() - started
    used = (after.user + after.system) - (before.user + before.system)
    return tps, used / wall


def measure(service: Service, plan: TrialPlan, pairs: int = PAIRS) -> dict:
    """summary.json's checks.sensitivity input: normal and slowed throughput on one server."""
    cpus = os.sched_getaffinity(0)  # the generator's, already pinned by the campaign
    normal: list[float] = []
    slowed: list[float] = []
    shares: list[float] = []
    server_cpus = set(plan.server_cpus) if plan.server_cpus else None
    log = plan.log_dir / f"{service.name}-sensitivity.log" if plan.log_dir else None
    with running_server(service, cpus=server_cpus, log_path=log, ready=plan.ready) as server:
        if plan.warmup_s:
            closed_window(server, plan)  # warm, unrecorded
        for i in range(2 * pairs):
            slow = i % 4 in (1, 2)  # normal, slowed, slowed, normal, ...
            tps, share = windows(server, plan, slow, cpus)
            (slowed if slow else normal).append(tps)
            if slow:
                shares.append(share)
    return summarize(service.name, normal, slowed, shares)


def summarize(name: str, normal: list[float], slowed: list[float], shares: list[float]) -> dict:
    centre = Summary.of(normal).median
    noise = (max(normal) - min(normal)) / centre if centre else 0.0
    return {
        "service": name,
        "normal_tps": normal,
        "slowed_tps": slowed,
        "ballast_share": Summary.of(shares).median if shares else 0.0,
        "ratio": Summary.of(slowed).median / centre if centre else 0.0,
        "noise": noise,  # the normal windows' own range, relative to their median
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kvbench.measure.sensitivity")
    parser.add_argument("--ballast", type=float, required=True, help="share of each period busy")
    args = parser.parse_args(argv)
    if not 0 < args.ballast < 1:
        parser.error("--ballast takes a share between 0 and 1")
    spin(args.ballast)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
