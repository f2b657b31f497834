"""The load generator's own ceiling: closed-loop windows against a canned server, one a round.

The canned server answers each key with the exact bytes a service sends, precomputed, so
what the generator reaches against it (same workload, every answer checked as in a trial)
is the most it can measure. It is measured between trial rounds, alongside the services,
because only a ceiling measured in the same minutes says the generator was not their
bottleneck; the campaign compares each round's ceiling with that round's fastest service.
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
from kvbench.measure.trials import TrialPlan
from kvbench.processes import child_setup, free_port, stop
from kvbench.results.summary import Summary


@contextmanager
def canned_server(cpus: frozenset[int] | None = None) -> Iterator[int]:
    """The canned raw-asyncio server in its own process, on the servers' CPUs; yields its port.

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
        self.probes = key_workload("127.0.0.1", port)  # as the services are loaded
        self.values: list[float] = []
        if plan.warmup_s:
            run_load(dataclasses.replace(self.config, duration_s=plan.warmup_s), self.probes)

    def window(self) -> float:
        result = run_load(self.config, self.probes)
        result.check()
        self.values.append(result.throughput)
        return result.throughput

    def summary(self) -> dict:
        """As summary.json records it, under environment.loadgen_ceiling."""
        if not self.values:
            return {}
        stored = Summary.of(self.values).to_json()
        workload = "the 1,000 preloaded keys, every answer checked byte for byte"
        return {**stored, "tps": stored["median"], "server": "kvbench.load.canned",
                "workload": workload}  # fmt: skip


@contextmanager
def headroom(plan: TrialPlan) -> Iterator[Headroom]:
    """A canned server kept up (idle between windows) for a whole run."""
    with canned_server(plan.server_cpus) as port:
        yield Headroom(port, plan)


MIN_HEADROOM = 2.0  # the generator's ceiling over the fastest service, in each round
MIN_BUSY = 0.95  # the server's CPU share of its closed-loop window, per core it is pinned to
MAX_LAG_SHARE = 0.1  # the open loop's p99 send lag, as a share of its p50 latency
NOT_RUN = "not run"


def checks(rounds: list[dict], exempt: frozenset[str], cpus: int | None) -> dict:
    """Was the server, not the load generator, the limit? summary.json's "checks".

    Per round, the generator's ceiling must be at least MIN_HEADROOM times the fastest
    service; per trial, a pinned server must have been busy at least MIN_BUSY of its
    closed-loop window (a saturated server's CPU time equals the window), and the open
    loop's p99 send lag must stay under MAX_LAG_SHARE of its p50 latency (else the
    generator, not the server, shaped the latency). Rows in `exempt` (ceilings that outrun
    the generator by design) are not checked. Each check says "ok", "failed" or "not run";
    the whole is ok only when every check ran and none failed.
    """
    warnings: list[str] = []
    found = {
        "headroom": headroom_check(rounds, warnings),
        "saturation": saturation_check(rounds, exempt, cpus, warnings),
        "schedule": schedule_check(rounds, exempt, warnings),
    }
    for name, check in found.items():
        if check["status"] == NOT_RUN:
            warnings.append(f"the {name} check did not run: {check['why']}")
    ok = all(check["status"] == "ok" for check in found.values())
    return found | {"exempt": sorted(exempt), "warnings": warnings, "ok": ok}


def status(ran: bool, failed: list) -> str:
    return NOT_RUN if not ran else "failed" if failed else "ok"


def headroom_check(rounds: list[dict], warnings: list[str]) -> dict:
    low = []
    for i, record in enumerate(rounds, 1):
        if record.get("headroom", MIN_HEADROOM) < MIN_HEADROOM:
            low.append(i)
            warnings.append(
                f"round {i}: the load generator's ceiling ({record['ceiling_tps']:,.0f} req/s) "
                f"was {record['headroom']:.2f}x the fastest service ({record['fastest']}, "
                f"{record['fastest_tps']:,.0f} req/s), under {MIN_HEADROOM:g}x"
            )
    measured = any("headroom" in record for record in rounds)
    found = {"min": MIN_HEADROOM, "measured": measured, "rounds_below": low,
             "status": status(measured, low)}  # fmt: skip
    return found if measured else found | {"why": "no ceiling of the load generator measured"}


def saturation_check(
    rounds: list[dict], exempt: frozenset[str], cpus: int | None, warnings: list[str]
) -> dict:
    idle = []
    for i, record in enumerate(rounds, 1):
        for service, busy in record.get("busy", {}).items():
            if cpus and service not in exempt and busy < MIN_BUSY * cpus:
                idle.append({"round": i, "service": service, "busy": busy})
                warnings.append(
                    f"round {i}: {service}'s server was busy {busy / cpus:.1%} of its "
                    f"closed-loop window, under {MIN_BUSY:.0%}: not saturated, so the load "
                    "generator (or another process on the server's CPU) held it back"
                )
    ran = bool(cpus) and any(
        service not in exempt for record in rounds for service in record.get("busy", {})
    )
    found = {"min_busy": MIN_BUSY, "checked": ran, "trials_below": idle,
             "status": status(ran, idle)}  # fmt: skip
    why = "the servers were not pinned" if not cpus else "no busy share was measured"
    return found if ran else found | {"why": why}


def schedule_check(rounds: list[dict], exempt: frozenset[str], warnings: list[str]) -> dict:
    """Per trial: did the open loop send on time, next to the latency it measured?"""
    late, ran = [], False
    for i, record in enumerate(rounds, 1):
        p50s = record.get("open_p50_ms", {})
        for service, lag in record.get("send_lag_p99_ms", {}).items():
            if service in exempt or service not in p50s:
                continue
            ran = True
            if lag > MAX_LAG_SHARE * p50s[service]:
                late.append({"round": i, "service": service, "send_lag_p99_ms": lag,
                             "p50_ms": p50s[service]})  # fmt: skip
                warnings.append(
                    f"round {i}: {service}'s open loop was generator-limited: its p99 send lag "
                    f"({lag:.3f} ms) was over {MAX_LAG_SHARE:.0%} of its p50 latency "
                    f"({p50s[service]:.3f} ms); the generator's lateness (or all its "
                    "connections busy) shaped the latency it measured"
                )
    found = {"max_lag_share": MAX_LAG_SHARE, "trials_late": late, "status": status(ran, late)}
    return found if ran else found | {"why": "no open-loop send lag was measured"}
