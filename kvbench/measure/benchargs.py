"""`kvbench bench`'s options and the plan they make, below the command so that the docs can
say how long a run takes (`estimate`) without importing a command.
"""

import argparse
import dataclasses
from pathlib import Path

from kvbench import UsageError
from kvbench.catalog import experiments, ladder
from kvbench.load.requests import RequestSpec, load_requests
from kvbench.load.workload import spec_probes
from kvbench.load.wrk import wrk_path
from kvbench.measure.layers import LAYERS, BenchPlan, estimate_s
from kvbench.measure.options import connections_option
from kvbench.measure.pinning import server_cpus
from kvbench.measure.trials import TrialPlan
from kvbench.services import (
    STORES,
    Service,
    get_service,
    parse_app,
    parse_variant,
)

DEFAULT_SERVICES = "unoptimized,optimized"
RUN_HELP = (
    "the run folder under bench-results/runs/: new, latest or a run's name (default: new; "
    "latest with --ladder, which adds ladder/ to it)"
)


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--run", metavar="RUN", help=RUN_HELP)
    add("--out", type=Path, help="write here instead of a run folder")
    add("--quick", action="store_true", help="few short trials")
    add("--trials", type=int, help="HTTP trials per service (default 10)")
    connections_option(parser, 64, "connections (default 64)")
    add("--rate", type=float, help="open-loop offered rate (default: calibrated)")
    add("--services", default=DEFAULT_SERVICES, help="comma-separated")
    add(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=module:app [flags]",
        help="also benchmark an app with these uvicorn flags (repeatable)",
    )
    add(
        "--loadgen",
        choices=["builtin", "wrk", "both"],
        default="builtin",
        help="closed-loop load from the built-in generator, from wrk, or both: a wrk window "
        "beside the built-in one on the same server in every trial (the cross-check)",
    )
    add("--strict", action="store_true", help="exit 1 when a headroom or saturation check fails")
    add("--ladder", action="store_true", help="every rung of docs/04's ladder")
    add(
        "--stores",
        action="store_true",
        help="optimized on memory, Redis and Redis with MGET, 1 and 2 workers (HTTP only)",
    )
    add("--layers", help=f"any of {','.join(LAYERS)} (default all; http with --stores)")
    add(
        "--part",
        choices=experiments.bench_parts(),
        help="write into this part of the run folder (a cross-check or a variant run)",
    )
    add(
        "--app",
        action="append",
        default=[],
        metavar="NAME=module:app [flags]",
        help="benchmark your own ASGI app (repeatable: several compared in one run); served "
        "by uvicorn with the optimized service's flags unless flags follow; needs --requests",
    )
    add(
        "--app-dir",
        type=Path,
        default=Path("."),
        help="the folder --app's modules are imported from and run in (default: here)",
    )
    add(
        "--requests",
        type=Path,
        metavar="FILE.toml",
        help="the requests to send and the answer each must get (replaces the services' "
        "workload in every layer)",
    )
    add("--warmup", type=float, help="unrecorded seconds before each window")
    add("--duration", type=float, help="closed-loop seconds per trial")
    add("--latency-window", type=float, help="open-loop seconds per trial (0 skips latency)")


def estimate(argv: list[str]) -> float:
    """Seconds `kvbench bench ARGV` should take, as the command says when it starts."""
    parser = argparse.ArgumentParser(prog="kvbench bench")
    configure(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit:  # argparse has printed why
        raise UsageError(f"kvbench bench does not take {' '.join(argv)!r}") from None
    return estimate_s(bench_plan(args))


def bench_plan(args: argparse.Namespace) -> BenchPlan:
    default = "http" if args.stores else ",".join(L for L in LAYERS if L != "micro" or not args.app)
    layers = frozenset((args.layers or default).split(","))
    if not layers <= set(LAYERS):
        raise UsageError(f"--layers takes {','.join(LAYERS)}; got {args.layers}")
    if args.stores and layers != {"http"}:
        # In-process layers would need a Redis per pyperf worker; the store is a network hop.
        raise UsageError("--stores measures the HTTP layer only (--layers http)")
    trials = (4 if args.quick else 10) if args.trials is None else args.trials
    if trials < 1 or args.concurrency < 1:
        raise UsageError("--trials and --connections must be at least 1")
    if args.loadgen != "builtin" and args.requests:
        # wrk's script sends the services' GETs and checks statuses only
        raise UsageError("--requests needs the built-in load generator (--loadgen builtin)")
    if args.loadgen != "builtin":
        wrk_path()  # a clear error now, not after the first trials
    plan = TrialPlan(connections=args.concurrency, server_cpus=server_cpus(), loadgen=args.loadgen)
    if args.quick:
        plan = dataclasses.replace(plan, warmup_s=0.5, duration_s=1.5, latency_s=1.0)
    given = {"warmup_s": args.warmup, "duration_s": args.duration, "latency_s": args.latency_window}
    plan = dataclasses.replace(plan, **{k: v for k, v in given.items() if v is not None})
    if plan.duration_s <= 0 or plan.warmup_s < 0 or plan.latency_s < 0:
        raise UsageError("--duration must be positive, --warmup and --latency-window not negative")
    services = chosen_services(args)
    request_file = args.requests.resolve() if args.requests else None
    if request_file is not None:
        plan = with_requests(plan, load_requests(request_file))
    return BenchPlan(
        services, layers, plan, trials, args.quick, args.rate, ladder=args.ladder,
        request_file=request_file,
    )  # fmt: skip


def with_requests(plan: TrialPlan, specs: list[RequestSpec]) -> TrialPlan:
    """The HTTP trials send these requests in turn, each answer checked by its spec."""

    def workload(host: str, port: int) -> list:
        return spec_probes(host, port, specs)

    return dataclasses.replace(plan, workload=workload, ready=specs[0])


def chosen_services(args: argparse.Namespace) -> list[Service]:
    if args.ladder:
        names = list(ladder.NAMES)
    elif args.stores:
        names = [variant.name for variant, _ in STORES]
    else:
        names = [n for n in args.services.split(",") if n and not args.app]
    if args.app and args.services != DEFAULT_SERVICES:
        raise UsageError("--app runs your apps only: --services cannot join them (--variant can)")
    if args.app and not args.requests:
        raise UsageError("--app needs --requests FILE.toml: the requests and their answers")
    if args.app and not args.app_dir.is_dir():
        raise UsageError(f"--app-dir {args.app_dir} is not a folder")
    app_dir = str(args.app_dir.resolve())
    services = [get_service(n) for n in names] + [parse_variant(v) for v in args.variant]
    services += [parse_app(a, app_dir) for a in args.app]
    if len({s.name for s in services}) != len(services):
        raise UsageError("two services or variants share a name")
    return services
