"""`kvbench bench`: micro, in-process ASGI, instructions and HTTP layers, into one results folder.

The HTTP layer pins each server to one CPU and this process, the load generator, to
another; services run back to back in each round, in ABBA order; every answer is checked
byte for byte. Rounds whose load generator had under 2x headroom, and closed-loop windows
whose server was not saturated, are warnings; `--strict` makes them a failed run. Results
go to a run folder of yours (`kvbench.results.runs`), never into the committed reference.
"""

import argparse
import dataclasses
import hashlib
import sys
from pathlib import Path

from kvbench import KvbenchError, UsageError, redis_server
from kvbench.cli import connections_option
from kvbench.load.requests import RequestSpec, load_requests
from kvbench.load.workload import spec_probes
from kvbench.load.wrk import wrk_path
from kvbench.measure.layers import LAYERS, BenchPlan, Layers, estimate_s
from kvbench.measure.pinning import server_cpus
from kvbench.measure.progress import Progress, minutes
from kvbench.measure.trials import TrialPlan
from kvbench.results import files, runs
from kvbench.services import (
    LADDER,
    MEMORY,
    STORES,
    Service,
    bare_variants,
    get_service,
    parse_app,
    parse_variant,
    same_in_process,
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
        choices=sorted(
            set(runs.PARTS) - {"ladder", "stores", "profiles", "peers", "hostile", "soak"}
        ),
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


def run(args: argparse.Namespace) -> int:
    bench = bench_plan(args)
    out = output(args)
    progress = Progress(estimate_s(bench))
    names = ", ".join(s.name for s in bench.services)
    shown = runs.shown(out)
    progress.say(f"benchmarking {names} into {shown}/: about {minutes(progress.total_s)}")
    in_process = bench.layers & {"asgi", "instructions"}
    same = same_in_process(bench.services) if in_process else {}
    if same:
        twins = ", ".join(f"{name} ({twin}'s)" for name, twin in same.items())
        progress.say(f"in-process, the same code is measured once: not again for {twins}")
    warnings = bare_variants(bench.services)
    for warning in warnings:
        progress.say(f"warning: {warning}")
    out.mkdir(parents=True, exist_ok=True)

    def finish(summary: dict) -> dict:
        env = summary["environment"]
        if same:  # which services have no in-process samples of their own, and whose they share
            env["in_process_same_as"] = same
        if any(service.store != MEMORY for service in bench.services):
            variants = {s.name: {"store": s.store, "env": dict(s.env)} for s in bench.services}
            env["stores"] = {**redis_server.describe(), "variants": variants}
            env["packages"].update(files.versions(redis_server.PACKAGES))
        if bench.request_file is not None:
            env["workload"] = workload_record(bench)
        if warnings:
            env["service_warnings"] = warnings
        return summary

    def save(summary: dict) -> None:
        files.write_json(out / "summary.json", finish(summary))

    try:
        summary = finish(Layers(bench, out, progress, save).run())
    except KvbenchError as error:
        if (out / "summary.json").exists():  # what the earlier layers measured is kept
            raise KvbenchError(f"{error}\n(the layers before are kept: {shown}/summary.json, "
                               "marked partial)") from None  # fmt: skip
        raise
    files.write_json(out / "summary.json", summary)
    progress.say(f"done in {progress.elapsed_s() / 60:.1f} min: {shown}/summary.json")
    progress.say(next_step(args, out))
    return verdict(summary.get("checks") or {}, args.strict)


def workload_record(bench: BenchPlan) -> dict:
    """What summary.json says of a request file: where, its hash, and its requests."""
    path = bench.request_file
    assert path is not None
    specs = load_requests(path)
    return {
        "request_file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "requests": [spec.name for spec in specs],
        "checked": "every answer in every layer: status, and the body, JSON or headers asked",
        "no_debug_vars": "an app without /debug/vars: no GC collections or pauses over "
        "HTTP; peak RSS from /proc (VmHWM)",
    }


def verdict(checks: dict, strict: bool) -> int:
    """Say every failed check; under --strict, any of them fails the run (after it is saved)."""
    for warning in checks.get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    if strict and checks and not checks.get("ok", True):
        print("error: --strict: the checks above failed (results kept)", file=sys.stderr)
        return 1
    return 0


def part(args: argparse.Namespace) -> str | None:
    """The part of a run folder this run writes: ladder/, stores/, --part's, or the main files."""
    return "ladder" if args.ladder else "stores" if args.stores else args.part


def output(args: argparse.Namespace) -> Path:
    """`--out`, else the run folder `--run` names (the part's folder in it, for a part)."""
    if args.out:
        return args.out
    name = part(args)
    folder = runs.start(args.run or (runs.LATEST if name else runs.NEW))
    return folder / name if name else folder


def next_step(args: argparse.Namespace, out: Path) -> str:
    """How to compare what was just written."""
    if args.app:
        names, shown = [parse_app(a, "").name for a in args.app], runs.shown(out)
        if len(names) > 1:
            return f"compare them: kvbench compare {shown} --old {names[0]} --new {names[1]}"
        return f"compare it with another run of your app: kvbench compare OTHER_RUN {shown}"
    if args.out:
        return f"compare its services: kvbench compare {runs.shown(out)}"
    if name := part(args):
        reference = runs.shown(runs.REFERENCE / name)
        return f"compare it with the reference: kvbench compare {reference} {runs.shown(out)}"
    latest = runs.shown(runs.runs_folder() / runs.LATEST)
    return (
        f"your run: {runs.shown(out)}/ ({latest} points to it)\n"
        "compare it: make compare (its two services, then the run beside the committed reference)"
    )


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
        names = [rung.name for rung, _ in LADDER]
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
