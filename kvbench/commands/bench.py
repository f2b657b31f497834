"""`kvbench bench`: micro, in-process ASGI, instructions and HTTP layers, into one results folder.

The HTTP layer pins each server to one CPU and this process, the load generator, to
another; services alternate trial by trial; every response is checked.
"""

import argparse
import dataclasses
from pathlib import Path

from kvbench import KvbenchError
from kvbench.measure.layers import LAYERS, BenchPlan, Layers, estimate_s
from kvbench.measure.pinning import server_cpus
from kvbench.measure.progress import Progress
from kvbench.measure.trials import TrialPlan
from kvbench.results import files
from kvbench.services import LADDER, Service, get_service, parse_variant, same_in_process

DEFAULT_OUT = Path("bench-results")


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--out", type=Path, help="results folder (default bench-results/)")
    add("--quick", action="store_true", help="few short trials, into quick/")
    add("--trials", type=int, help="HTTP trials per service (default 10)")
    add("--concurrency", type=int, default=64, help="connections (default 64)")
    add("--rate", type=float, help="open-loop offered rate (default: calibrated)")
    add("--services", default="unoptimized,optimized", help="comma-separated")
    add(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=module:app [flags]",
        help="also benchmark an app with these uvicorn flags (repeatable)",
    )
    add(
        "--loadgen",
        choices=["builtin", "wrk"],
        default="builtin",
        help="closed-loop load from the built-in generator or, as a cross-check, wrk",
    )
    add("--ladder", action="store_true", help="every rung of docs/04's ladder")
    add("--layers", default=",".join(LAYERS), help=f"any of {','.join(LAYERS)}")
    add("--warmup", type=float, help="unrecorded seconds before each window")
    add("--duration", type=float, help="closed-loop seconds per trial")
    add("--latency-window", type=float, help="open-loop seconds per trial (0 skips latency)")


def run(args: argparse.Namespace) -> int:
    bench = bench_plan(args)
    out = args.out or (DEFAULT_OUT / "quick" if args.quick else DEFAULT_OUT)
    progress = Progress(estimate_s(bench))
    names = ", ".join(s.name for s in bench.services)
    progress.say(f"benchmarking {names} into {out}/: about {progress.total_s / 60:.0f} min")
    in_process = bench.layers & {"asgi", "instructions"}
    same = same_in_process(bench.services) if in_process else {}
    if same:
        twins = ", ".join(f"{name} ({twin}'s)" for name, twin in same.items())
        progress.say(f"in-process, the same code is measured once: not again for {twins}")
    out.mkdir(parents=True, exist_ok=True)
    summary = Layers(bench, out, progress).run()
    if same:  # which services have no in-process samples of their own, and whose they share
        summary["environment"]["in_process_same_as"] = same
    files.write_json(out / "summary.json", summary)
    progress.say(f"done in {progress.elapsed_s() / 60:.1f} min: {out}/summary.json")
    return 0


def bench_plan(args: argparse.Namespace) -> BenchPlan:
    layers = frozenset(args.layers.split(","))
    if not layers <= set(LAYERS):
        raise KvbenchError(f"--layers takes {','.join(LAYERS)}; got {args.layers}")
    trials = args.trials or (4 if args.quick else 10)
    if trials < 1 or args.concurrency < 1:
        raise KvbenchError("--trials and --concurrency must be at least 1")
    plan = TrialPlan(connections=args.concurrency, server_cpus=server_cpus(), loadgen=args.loadgen)
    if args.quick:
        plan = dataclasses.replace(plan, warmup_s=0.5, duration_s=1.5, latency_s=1.0)
    given = {"warmup_s": args.warmup, "duration_s": args.duration, "latency_s": args.latency_window}
    plan = dataclasses.replace(plan, **{k: v for k, v in given.items() if v is not None})
    if plan.duration_s <= 0 or plan.warmup_s < 0 or plan.latency_s < 0:
        raise KvbenchError(
            "--duration must be positive, --warmup and --latency-window not negative"
        )
    return BenchPlan(chosen_services(args), layers, plan, trials, args.quick, args.rate)


def chosen_services(args: argparse.Namespace) -> list[Service]:
    if args.ladder:
        names = [rung.name for rung, _ in LADDER]
    else:
        names = [n for n in args.services.split(",") if n]
    services = [get_service(n) for n in names] + [parse_variant(v) for v in args.variant]
    if len({s.name for s in services}) != len(services):
        raise KvbenchError("two services or variants share a name")
    return services
