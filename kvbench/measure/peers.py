"""`kvbench peers`' measurement: every row in one campaign, then the scaling curves.

Rows: unoptimized and optimized as `make bench` runs them; the framework floor (a bare
ASGI app, same store and bytes, same uvicorn flags); the optimized app on granian; the
service as FastAPI's tutorial writes it; the Python ceiling (an asyncio Protocol with
httptools, no ASGI); and nginx as a system ceiling where it is installed.
"""

import shutil
from dataclasses import dataclass
from pathlib import Path

from kvbench.catalog import peers as catalogue
from kvbench.measure import curves
from kvbench.measure.campaign import Campaign, run_campaign
from kvbench.measure.curves import Curves
from kvbench.measure.pinning import server_cpus
from kvbench.measure.trials import TrialPlan
from kvbench.results import files, provenance
from kvbench.services import FRAMEWORK_FLOOR, NGINX, PEERS, PYTHON_CEILING, Peer

PEER_PACKAGES = catalogue.packages()
FLOOR_TOLERANCE = 0.15  # the optimized service should be within 15% of the floor
NOT_MEASURED = ("gc_", "server_rss")  # nginx's /debug/vars is a stub: no GC, no RSS
PAIR_BASE = "optimized"  # every row's per-round ratio is to the optimized service
# Rows built to outrun the Python services: the load generator may well be their limit,
# so the headroom and saturation checks do not apply to them (the report says so).
CEILINGS = catalogue.CEILINGS


@dataclass(frozen=True)
class Settings:
    """The shape of one run, from the command line."""

    trials: int = 10
    curve_trials: int = 3
    connections: int = 64
    warmup_s: float = 1.0  # a fresh FastAPI answers its first requests slowly: let it
    duration_s: float = 2.0
    latency_s: float = 1.5
    rate: float | None = None
    curves: Curves = Curves()


def rows() -> tuple[list[Peer], dict[str, str]]:
    """The rows this machine can run, and a note for each one it cannot."""
    if shutil.which("nginx"):
        return [*PEERS, NGINX], {}
    return list(PEERS), {"nginx": "skipped: nginx is not installed on this machine"}


def estimate_s(settings: Settings, count: int) -> float:
    """About how long the run takes: trials times their windows plus server start-ups."""
    start = 1.5  # start a server, wait for it, stop it
    trial = start + settings.warmup_s + settings.duration_s + settings.latency_s
    closed = start + settings.warmup_s + settings.duration_s
    calibrate = 0 if settings.rate else count * (closed - settings.duration_s + 1.5)
    curve = curves.points(settings.curves) * closed + curves.extra_start_s(settings.curves)
    return 15 + calibrate + trial * settings.trials * count + curve * settings.curve_trials


def measure(settings: Settings, chosen: list[Peer], skipped: dict, out: Path, progress) -> dict:
    """Every row, then every curve, into one summary (the layout of bench's summary.json)."""
    plan = TrialPlan(
        connections=settings.connections,
        warmup_s=settings.warmup_s,
        duration_s=settings.duration_s,
        latency_s=settings.latency_s,
        server_cpus=server_cpus(),
    )
    services = [row.service for row in chosen]
    names = [s.name for s in services]
    campaign = Campaign(
        services,
        plan,
        settings.trials,
        settings.rate,
        pairs=tuple((name, PAIR_BASE) for name in names if name != PAIR_BASE),
        exempt=frozenset(CEILINGS) & set(names),
        progress=progress.step,
    )
    result = run_campaign(campaign)
    head = provenance.header()
    env = head["environment"]
    env["packages"].update(files.versions(PEER_PACKAGES))
    env.update(result.environment())
    measured = result.summaries()
    if NGINX.service.name in measured:
        stub = measured[NGINX.service.name]
        measured[NGINX.service.name] = {
            k: v for k, v in stub.items() if not k.startswith(NOT_MEASURED)
        }
    summary = head | {"services": measured, "files": result.write(out)}
    summary.update(result.sections())
    summary["rows"] = {row.service.name: row.what for row in chosen}
    summary["skipped"] = skipped
    summary["ratio_to_ceiling"] = ratios(measured)
    summary["floor_check"] = floor_check(measured)
    summary["curves"] = curves.measure(
        settings.curves, result.plan, settings.curve_trials, progress
    )
    env["curves"] = curves.describe(settings.curves, settings.curve_trials)
    return summary


def ratios(services: dict[str, dict]) -> dict[str, float | None]:
    """Each row's median throughput over the Python ceiling's (1.0 = as fast as the ceiling)."""
    ceiling = services.get(PYTHON_CEILING, {}).get("http_tps")
    if not ceiling or not ceiling["median"]:
        return {name: None for name in services}
    return {name: m["http_tps"]["median"] / ceiling["median"] for name, m in services.items()}


def floor_check(services: dict[str, dict]) -> dict:
    """Is the optimized service within 15% of the framework floor, on the same server?"""
    try:
        optimized = services["optimized"]["http_tps"]["median"]
        ratio = optimized / services[FRAMEWORK_FLOOR]["http_tps"]["median"]
    except (KeyError, ZeroDivisionError):
        return {"ratio": None, "tolerance": FLOOR_TOLERANCE, "within": None}
    return {"ratio": ratio, "tolerance": FLOOR_TOLERANCE, "within": ratio >= 1 - FLOOR_TOLERANCE}
