"""The scaling curves of `kvbench peers`: how cost grows as connections, keys and workers grow.

- concurrency: throughput and closed-loop p99 at 1 to 1,024 connections;
- keys: throughput, peak RSS and start-up time with 1k to 1M preloaded keys, the requests
  spread over the whole key range (so lookups are not served from a few hot cache lines);
- workers: throughput with 1 to CPU-count worker processes (kvbench.runtime.supervisor:
  a SO_REUSEPORT socket per worker), neither side pinned, with the load generator's own
  CPU share recorded, since it competes for the same cores, and the least-loaded
  worker's share of the requests and of the connections, from each worker's counters.
Each point is a few interleaved trials of `kvbench.measure.trials`, like every row (ABBA
order, the same checks of every answer). Three trials a point keep the peers run near 13
minutes; with fewer than 6 a median has no interval, so the tables and plots show bare
medians and say n, and claim no interval. The server's busy share is recorded per point
(at one connection, a closed-loop server waits for the generator: that is the curve).
"""

import dataclasses
import functools
import os
from dataclasses import dataclass, field

from kvbench import KvbenchError
from kvbench.load.workload import KEY_PROBES, spread_workload
from kvbench.measure.campaign import Campaign, CampaignResult, run_campaign
from kvbench.measure.progress import Progress
from kvbench.measure.trials import TrialPlan
from kvbench.results.summary import summaries
from kvbench.runtime.contract import PRELOAD_KEYS_ENV
from kvbench.services import SERVICES, Service

CURVES = ("concurrency", "keys", "workers")
CURVE_SERVICES = ("unoptimized", "optimized")
LEVELS = (1, 8, 64, 256, 1024)
KEYS = (1_000, 100_000, 1_000_000)
KEYS_START_TIMEOUT_S = 180.0  # a million pre-encoded answers take a while to build
START_S_PER_MILLION_KEYS = 12.0  # for the time estimate only: building a million answers
METRICS = {
    "concurrency": ("http_tps", "http_closed_p99_ms", "server_busy"),
    "keys": ("http_tps", "server_rss_mb", "server_startup_s"),
    "workers": (
        "http_tps",
        "server_busy",
        "loadgen_cpu_share",
        "worker_request_share_min",
        "worker_connection_share_min",
    ),
}


def all_cpus() -> frozenset[int]:
    if hasattr(os, "sched_getaffinity"):
        return frozenset(os.sched_getaffinity(0))
    return frozenset(range(os.cpu_count() or 1))


@dataclass(frozen=True)
class Curves:
    """Which curves to measure, and their points."""

    names: tuple[str, ...] = CURVES
    levels: tuple[int, ...] = LEVELS
    keys: tuple[int, ...] = KEYS
    cpus: frozenset[int] = field(default_factory=all_cpus)  # read before any pinning
    workers: tuple[int, ...] = ()  # empty: 1 to len(cpus)

    @property
    def worker_counts(self) -> tuple[int, ...]:
        return self.workers or tuple(range(1, len(self.cpus) + 1))


def curves_from(names: str, levels: str | None, keys: str | None, workers: str | None) -> Curves:
    """Curves from the command line's comma-separated lists; KvbenchError when malformed."""
    chosen = tuple(n for n in names.split(",") if n)
    if unknown := set(chosen) - set(CURVES):
        raise KvbenchError(f"--curves takes {','.join(CURVES)}; unknown: {','.join(unknown)}")
    return Curves(
        names=chosen,
        levels=_counts("--levels", levels) or LEVELS,
        keys=_counts("--keys", keys) or KEYS,
        workers=_counts("--workers", workers) or (),
    )


def _counts(flag: str, text: str | None) -> tuple[int, ...]:
    if not text:
        return ()
    words = [w.strip() for w in text.split(",") if w.strip()]
    if not all(w.isdigit() and int(w) >= 1 for w in words):
        raise KvbenchError(f"{flag} takes whole numbers >= 1, comma-separated; got {text!r}")
    return tuple(int(w) for w in words)


def points(curves: Curves) -> int:
    """How many (service, point) pairs the chosen curves have, for the time estimate."""
    sizes = {
        "concurrency": len(curves.levels),
        "keys": len(curves.keys),
        "workers": len(curves.worker_counts),
    }
    return len(CURVE_SERVICES) * sum(sizes[name] for name in curves.names)


def extra_start_s(curves: Curves) -> float:
    """About how much longer the keys curve's servers take to start, per trial round."""
    if "keys" not in curves.names:
        return 0.0
    return len(CURVE_SERVICES) * START_S_PER_MILLION_KEYS * sum(curves.keys) / 1e6


def measure(curves: Curves, plan: TrialPlan, trials: int, progress: Progress) -> dict:
    """Every chosen curve: {curve: {service: {point: {metric: summary}}}}."""
    closed = dataclasses.replace(plan, latency_s=0)
    measure_curve = {"concurrency": concurrency, "keys": key_counts, "workers": workers}
    return {name: measure_curve[name](curves, closed, trials, progress) for name in curves.names}


def concurrency(curves: Curves, plan: TrialPlan, trials: int, progress: Progress) -> dict:
    points = {}
    for level in curves.levels:
        at_level = dataclasses.replace(plan, connections=level)
        points[level] = _point(_services(), at_level, trials, progress, f"{level} conns")
    return _by_service(points, METRICS["concurrency"])


def key_counts(curves: Curves, plan: TrialPlan, trials: int, progress: Progress) -> dict:
    points = {}
    for keys in curves.keys:
        env = ((PRELOAD_KEYS_ENV, str(keys)),)
        services = [dataclasses.replace(s, env=env) for s in _services()]
        at_keys = dataclasses.replace(
            plan,
            workload=functools.partial(spread_workload, keys=keys),
            extra_metrics=True,
            start_timeout_s=max(plan.start_timeout_s, KEYS_START_TIMEOUT_S),
        )
        points[keys] = _point(services, at_keys, trials, progress, f"{keys:,} keys")
    return _by_service(points, METRICS["keys"])


def workers(curves: Curves, plan: TrialPlan, trials: int, progress: Progress) -> dict:
    """Servers on every CPU and the load generator too: they share the cores, as in production."""
    unpinned = dataclasses.replace(plan, server_cpus=None, extra_metrics=True)
    points = {}
    for count in curves.worker_counts:
        services = [dataclasses.replace(s, workers=count) for s in _services()]
        points[count] = _point(services, unpinned, trials, progress, f"{count} workers")
    return _by_service(points, METRICS["workers"])


def _services() -> list[Service]:
    return [SERVICES[name] for name in CURVE_SERVICES]


def _point(services: list[Service], plan: TrialPlan, trials: int, progress: Progress, label: str):
    """One point of a curve: a short campaign of closed-loop trials, no ceiling windows."""
    campaign = Campaign(
        services,
        plan,
        trials,
        headroom=False,
        check=False,  # one connection cannot saturate a server: the curve shows exactly that
        progress=lambda text: progress.step(f"{label}: {text}"),
    )
    return run_campaign(campaign)


def _by_service(points: dict[int, CampaignResult], names: tuple[str, ...]) -> dict:
    found: dict[str, dict] = {name: {} for name in CURVE_SERVICES}
    for point, result in points.items():
        for service in CURVE_SERVICES:
            samples = {m: v for m, v in result.samples(service).items() if m in names}
            found[service][str(point)] = summaries(samples)
    return found


def describe(curves: Curves, trials: int) -> dict:
    """The curves' settings, for the summary's environment."""
    return {
        "curves": list(curves.names),
        "services": list(CURVE_SERVICES),
        "trials": trials,
        "concurrency": list(curves.levels),
        "keys": list(curves.keys),
        "key_probes": KEY_PROBES,
        "workers": list(curves.worker_counts),
        "workers_pinning": "none: servers and the load generator share all CPUs",
        "workers_sockets": "one SO_REUSEPORT listening socket per worker",
        "latency": "closed loop: p99 at a fixed number of connections",
    }
