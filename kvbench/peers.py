"""`python -m kvbench peers`: the two services next to their peers and ceilings, in one run.

Rows: unoptimized and optimized as `make bench` runs them; the framework floor (a bare
ASGI app, same store and bytes, same uvicorn flags); the optimized app on granian; the
service as FastAPI's tutorial writes it; the Python ceiling (an asyncio Protocol with
httptools, no ASGI); and nginx as a system ceiling where it is installed. Every row runs
through `kvbench.trials`: a fresh pinned server per trial, rows interleaved, warm-up,
closed-loop throughput, server CPU per request, open-loop p99 at one common offered rate,
and every answer checked. Then the scaling curves of `kvbench.scaling`.
"""

import argparse
import dataclasses
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from kvbench import KvbenchError, results, scaling
from kvbench.ceiling import SERVER_CPU, can_pin, ceiling, common_rate, pin_loadgen
from kvbench.progress import Progress
from kvbench.services import SERVICES, TUNED_UVICORN, Service
from kvbench.trials import TrialPlan, TrialResult, interleave
from peers import nginx

DEFAULT_OUT = Path("bench-results/peers")
PEER_PACKAGES = ("granian", "fastapi", "pydantic", "httptools", "uvloop", "orjson")
CEILING, FLOOR = "raw-protocol", "bare-asgi"
FLOOR_TOLERANCE = 0.15  # the optimized service should be within 15% of the floor
LATENCY_LOAD = 0.5  # the common offered rate, as a share of the slowest row's throughput
CALIBRATED = "calibrated: half the slowest row's throughput in a short closed-loop trial"
# granian's access log is off by default; said anyway, as the uvicorn flags say it. Its
# accept backlog (1,024 by default) is raised to uvicorn's 2,048.
GRANIAN_FLAGS = (
    "--loop", "uvloop", "--http", "1", "--no-ws", "--no-access-log", "--log-level", "warning",
    "--backlog", "2048",
)  # fmt: skip


@dataclass(frozen=True)
class Row:
    service: Service
    what: str


ROWS = [
    Row(SERVICES["unoptimized"], "the naive service, as `make bench` runs it"),
    Row(SERVICES["optimized"], "the optimized service, as `make bench` runs it"),
    Row(
        Service(FLOOR, "peers.bare_asgi:app", TUNED_UVICORN),
        "framework floor: one bare ASGI callable, same store and bytes, same uvicorn flags",
    ),
    Row(
        Service("granian", "optimized.app:app", GRANIAN_FLAGS, server="granian"),
        "the optimized app on granian (Rust HTTP server, ASGI interface)",
    ),
    Row(
        Service("fastapi", "peers.fastapi_app:app", TUNED_UVICORN),
        "FastAPI as its tutorial teaches (async endpoint returning a dict), tuned uvicorn",
    ),
    Row(
        Service(CEILING, "peers.raw_protocol:main", (), server="python"),
        "Python ceiling: asyncio Protocol on uvloop with httptools, same store and bytes, no ASGI",
    ),
]
NGINX = Row(
    Service("nginx", "peers.nginx:main", (), server="python"),
    "system ceiling: nginx answering a JSON body from its config, no store",
)


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
    curves: scaling.Curves = scaling.Curves()


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results folder")
    parser.add_argument("--quick", action="store_true", help="1 trial, 0.5 s windows (a smoke run)")
    parser.add_argument("--trials", type=int, help="trials per row (default 10)")
    parser.add_argument("--curve-trials", type=int, help="trials per curve point (default 3)")
    parser.add_argument("--concurrency", type=int, default=64, help="connections for the rows")
    parser.add_argument("--rate", type=float, help="open-loop offered rate (default: calibrated)")
    parser.add_argument(
        "--curves",
        default=",".join(scaling.CURVES),
        help="any of concurrency,keys,workers ('' for none)",
    )
    parser.add_argument("--levels", help="concurrency curve, e.g. 1,8,64,256,1024")
    parser.add_argument("--keys", help="key-count curve, e.g. 1000,100000,1000000")
    parser.add_argument("--workers", help="worker-count curve (default 1 to the CPU count)")


def settings_from(args: argparse.Namespace) -> Settings:
    quick = dict(duration_s=0.5, latency_s=0.5) if args.quick else {}
    settings = Settings(
        trials=_given(args.trials, 1 if args.quick else Settings.trials),
        curve_trials=_given(args.curve_trials, 1 if args.quick else Settings.curve_trials),
        connections=args.concurrency,
        rate=args.rate,
        curves=scaling.curves_from(args.curves, args.levels, args.keys, args.workers),
        **quick,
    )
    if min(settings.trials, settings.curve_trials, settings.connections) < 1:
        raise KvbenchError("--trials, --curve-trials and --concurrency must be at least 1")
    if settings.rate is not None and settings.rate <= 0:
        raise KvbenchError("--rate must be above 0 requests/s")
    return settings


def _given(value: int | None, default: int) -> int:
    return default if value is None else value  # 0 is given, and refused below


def rows() -> tuple[list[Row], dict[str, str]]:
    """The rows this machine can run, and a note for each one it cannot."""
    if nginx.installed():
        return [*ROWS, NGINX], {}
    return list(ROWS), {"nginx": "skipped: nginx is not installed on this machine"}


def estimate_s(settings: Settings, count: int) -> float:
    """About how long the run takes: trials times their windows plus server start-ups."""
    start = 1.5  # start a server, wait for it, stop it
    trial = start + settings.warmup_s + settings.duration_s + settings.latency_s
    closed = start + settings.warmup_s + settings.duration_s
    calibrate = 0 if settings.rate else count * (closed - settings.duration_s + 1.5)
    curves = scaling.points(settings.curves) * closed + scaling.extra_start_s(settings.curves)
    return 15 + calibrate + trial * settings.trials * count + curves * settings.curve_trials


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    chosen, skipped = rows()
    progress = Steps(estimate_s(settings, len(chosen)))
    progress.say(
        f"peers: {len(chosen)} rows x {settings.trials} trials, then "
        f"{', '.join(settings.curves.names) or 'no'} curves ({settings.curve_trials} trials "
        f"a point) into {args.out}/: about {progress.total_s / 60:.0f} min"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        summary = measure(settings, chosen, skipped, args.out, progress)
    except KvbenchError as exc:  # say which server and trial it was
        raise KvbenchError(f"{progress.last}: {exc}") from None
    results.write_json(args.out / "summary.json", summary)
    from kvbench.peers_report import write_report  # matplotlib only once there is data

    report = write_report(args.out, summary)
    progress.say(f"done in {progress.elapsed_s() / 60:.1f} min: {args.out}/summary.json, {report}")
    return 0


class Steps(Progress):
    """Progress that remembers its last step, to name it when something fails."""

    last = "before the first trial"

    def step(self, text: str) -> None:
        self.last = text
        super().step(text)


def measure(
    settings: Settings, chosen: list[Row], skipped: dict, out: Path, progress: Progress
) -> dict:
    """Every row, then every curve, into one summary (the layout of bench's summary.json)."""
    env = results.environment()
    env["packages"].update(peer_versions())
    env["pinning"] = pin_loadgen()
    services = [row.service for row in chosen]
    with tempfile.TemporaryDirectory() as logs:
        plan = base_plan(settings, Path(logs))
        with ceiling(plan) as canned:
            if plan.latency_s:
                rate = settings.rate or common_rate(services, plan, progress.step)
                plan = dataclasses.replace(plan, rate=rate)
            env["http"] = http_env(settings, plan, services)
            by_row = interleave(
                services, plan, settings.trials, progress.step, after_round=canned.window
            )
            env["loadgen_ceiling"] = canned.summary()
        summary = {"schema": 1, "environment": env, **row_results(by_row, out)}
        summary["rows"] = {row.service.name: row.what for row in chosen}
        summary["skipped"] = skipped
        summary["ratio_to_ceiling"] = ratios(summary["services"])
        summary["floor_check"] = floor_check(summary["services"])
        summary["scaling"] = scaling.measure(settings.curves, plan, settings.curve_trials, progress)
        env["scaling"] = scaling.describe(settings.curves, settings.curve_trials)
    return summary


def peer_versions() -> dict[str, str | None]:
    versions = {}
    for name in PEER_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def base_plan(settings: Settings, logs: Path) -> TrialPlan:
    cpus = frozenset({SERVER_CPU}) if can_pin() else None
    return TrialPlan(
        connections=settings.connections, warmup_s=settings.warmup_s,
        duration_s=settings.duration_s, latency_s=settings.latency_s, server_cpus=cpus,
        log_dir=logs,
    )  # fmt: skip


def http_env(settings: Settings, plan: TrialPlan, services: list[Service]) -> dict:
    return {
        "trials": settings.trials, "interleaved": True, "concurrency": plan.connections,
        "warmup_s": plan.warmup_s, "duration_s": plan.duration_s,
        "latency_window_s": plan.latency_s, "offered_rate": plan.rate,
        "rate_source": "given with --rate" if settings.rate else CALIBRATED,
        "loadgen": "kvbench built-in (uvloop, raw protocols, every response checked)",
        "commands": {s.name: s.command("127.0.0.1", 0)[1:] for s in services},
    }  # fmt: skip


def row_results(by_row: dict[str, list[TrialResult]], out: Path) -> dict:
    """Per-row metric summaries, and the open-loop latencies saved for the plots."""
    services, latency = {}, {}
    for name, trials in by_row.items():
        samples: dict[str, list[float]] = {}
        for trial in trials:
            for metric, value in trial.metrics.items():
                samples.setdefault(metric, []).append(value)
        if name == NGINX.service.name:  # its /debug/vars is a stub: no GC, no RSS
            samples = {k: v for k, v in samples.items() if not k.startswith(("gc_", "server_rss"))}
        services[name] = results.summarize_all(samples)
        chunks = [t.latencies_ns for t in trials if t.latencies_ns is not None]
        if chunks:
            results.save_latencies(out / f"latency-{name}.npy", chunks)
            latency[name] = f"latency-{name}.npy"
    return {"services": services, "files": {"latency": latency}}


def ratios(services: dict[str, dict]) -> dict[str, float | None]:
    """Each row's median throughput over the Python ceiling's (1.0 = as fast as the ceiling)."""
    ceiling = services.get(CEILING, {}).get("http_tps")
    if not ceiling or not ceiling["median"]:
        return {name: None for name in services}
    return {name: m["http_tps"]["median"] / ceiling["median"] for name, m in services.items()}


def floor_check(services: dict[str, dict]) -> dict:
    """Is the optimized service within 15% of the framework floor, on the same server?"""
    try:
        ratio = services["optimized"]["http_tps"]["median"] / services[FLOOR]["http_tps"]["median"]
    except (KeyError, ZeroDivisionError):
        return {"ratio": None, "tolerance": FLOOR_TOLERANCE, "within": None}
    return {"ratio": ratio, "tolerance": FLOOR_TOLERANCE, "within": ratio >= 1 - FLOOR_TOLERANCE}
