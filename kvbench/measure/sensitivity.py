"""Was the server the limit? Slow the load generator on purpose and see if the server notices.

On one server, kept up for the whole check, closed-loop windows alternate: normal, slowed,
slowed, normal, ... In a slowed window the generator does extra work of its own on every
answer, a busy wait of half its measured CPU per answer, so its capacity falls to about two
thirds. If the server, not the generator, set the pace, the slowed windows reach the same
throughput as the normal ones, within the noise of the normal windows themselves; a
generator that was the limit loses about a third.

Why work per answer and not a competing process on the generator's core: the first version
ran a ballast there (busy 1 ms of every 3). The scheduler then stops the generator for whole
milliseconds, and a closed loop loses throughput to any stall of its sender, however idle
the sender is on average: on its first runs the optimized service fell to 0.86x while the
generator used 0.42 of its core. That measures how the loop takes preemption, not whether
the generator's capacity was the limit. Work per answer takes capacity without stalls.

The check can only pass when it could have failed: the slowed windows' measured CPU per
answer must have grown by most of the half that was added (`checks.MIN_SLOWDOWN`).

Every window also records the server's side, as the closed window measures it for the
saturation check (`trials.closed_builtin`): its core's busy share and CPU per answer. They
cannot clear a throughput that fell: CPU per answer is busy over throughput, so a saturated
server's rises as its throughput falls whatever set the pace. A fall short of the third with
the server saturated throughout is undecided (`checks.slower`), not passed.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from kvbench.load import engine
from kvbench.measure.checks import SLOWDOWN  # the generator keeps about two thirds
from kvbench.measure.trials import TrialPlan, closed_window
from kvbench.processes import running_server
from kvbench.results.summary import Summary
from kvbench.services import Service

PAIRS = 3  # normal and slowed windows, alternating


def cost_ns(window: dict[str, float]) -> float:
    """The generator's CPU per answer in one closed window, in nanoseconds."""
    tps = window["http_tps"]
    return window["loadgen_cpu_share"] / tps * 1e9 if tps else 0.0


def server_cpu_us(window: dict[str, float]) -> float:
    """The server core's CPU per answer in one closed window (a pinned Redis's too), in µs."""
    tps = window["http_tps"]
    return window["server_busy"] / tps * 1e6 if tps else 0.0


@contextmanager
def slowed(extra_ns: int) -> Iterator[None]:
    """Every answer the generator reads costs it `extra_ns` more, busy, before it goes on.

    Every answer, framed and checked or known by its bytes (`Run.known`), ends in
    `Run.completed`, which the engine looks up each time: replacing it for the window slows
    exactly the loop under test and nothing else; the original is back on exit. (Hooking
    `Run.answered` instead missed every known answer: nothing was slowed.)"""
    original = engine.Run.completed

    def completed(run, *args) -> None:
        until = time.perf_counter_ns() + extra_ns
        while time.perf_counter_ns() < until:
            pass
        return original(run, *args)

    engine.Run.completed = completed  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        engine.Run.completed = original  # type: ignore[method-assign]


def measure(service: Service, plan: TrialPlan, pairs: int = PAIRS) -> dict:
    """summary.json's checks.sensitivity input: normal and slowed windows on one server."""
    builtin = replace(plan, loadgen="builtin")  # the generator whose limit is in question
    normal: list[dict[str, float]] = []
    slow: list[dict[str, float]] = []
    server_cpus = set(plan.server_cpus) if plan.server_cpus else None
    log = plan.log_dir / f"{service.name}-sensitivity.log" if plan.log_dir else None
    with running_server(service, cpus=server_cpus, log_path=log, ready=builtin.ready) as server:
        calibration = closed_window(server, builtin)  # warms the server too; unrecorded
        extra_ns = int(SLOWDOWN * cost_ns(calibration))
        for i in range(2 * pairs):
            if i % 4 in (1, 2):  # normal, slowed, slowed, normal, ...
                with slowed(extra_ns):
                    slow.append(closed_window(server, builtin))
            else:
                normal.append(closed_window(server, builtin))
    # The campaign measures this only on a pinned server; unpinned, busy is in cores.
    return summarize(service.name, normal, slow, extra_ns, len(server_cpus or {0}))


def summarize(name: str, normal: list[dict], slow: list[dict], extra_ns: float, cpus: int) -> dict:
    normal_tps = [w["http_tps"] for w in normal]
    slowed_tps = [w["http_tps"] for w in slow]
    centre = Summary.of(normal_tps).median
    normal_cost = Summary.of([cost_ns(w) for w in normal]).median
    slowed_cost = Summary.of([cost_ns(w) for w in slow]).median
    normal_server = [server_cpu_us(w) for w in normal]
    slowed_server = [server_cpu_us(w) for w in slow]
    server_cost = Summary.of(normal_server).median
    return {
        "service": name,
        "normal_tps": normal_tps,
        "slowed_tps": slowed_tps,
        "extra_us_per_answer": extra_ns / 1e3,
        "normal_loadgen_share": [w["loadgen_cpu_share"] for w in normal],
        "slowed_loadgen_share": [w["loadgen_cpu_share"] for w in slow],
        # measured, not assumed: how much dearer an answer was for the generator when slowed
        "slowdown": slowed_cost / normal_cost if normal_cost else 0.0,
        "ratio": Summary.of(slowed_tps).median / centre if centre else 0.0,
        "noise": (max(normal_tps) - min(normal_tps)) / centre if centre else 0.0,
        # the server's side: its core's busy share (per core pinned to) and CPU per answer
        "normal_server_busy": [w["server_busy"] / cpus for w in normal],
        "slowed_server_busy": [w["server_busy"] / cpus for w in slow],
        "normal_server_cpu_us_per_req": normal_server,
        "slowed_server_cpu_us_per_req": slowed_server,
        "server_cpu_rise": Summary.of(slowed_server).median / server_cost if server_cost else 0.0,
    }
