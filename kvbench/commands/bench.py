"""`kvbench bench`: micro, in-process ASGI and HTTP layers, written to one results folder.

The HTTP layer pins each server to one CPU and this process, the load generator, to
another; services alternate trial by trial; every response is checked. Results go to a
run folder of yours (`kvbench.results.runs`), never into the committed reference.
"""

import argparse
import dataclasses
from pathlib import Path

from kvbench import KvbenchError
from kvbench.measure.layers import LAYERS, BenchPlan, Layers, estimate_s
from kvbench.measure.pinning import server_cpus
from kvbench.measure.progress import Progress, minutes
from kvbench.measure.trials import TrialPlan
from kvbench.results import files, runs
from kvbench.services import LADDER, Service, get_service, parse_variant

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
    add("--layers", default=",".join(LAYERS), help="any of micro,asgi,http")
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
    out.mkdir(parents=True, exist_ok=True)
    files.write_json(out / "summary.json", Layers(bench, out, progress).run())
    progress.say(f"done in {progress.elapsed_s() / 60:.1f} min: {shown}/summary.json")
    progress.say(next_step(args, out))
    return 0


def output(args: argparse.Namespace) -> Path:
    """`--out`, else the run folder `--run` names (ladder/ in it with --ladder)."""
    if args.out:
        return args.out
    folder = runs.start(args.run or (runs.LATEST if args.ladder else runs.NEW))
    return folder / "ladder" if args.ladder else folder


def next_step(args: argparse.Namespace, out: Path) -> str:
    """How to compare what was just written."""
    if args.out:
        return f"compare its services: kvbench compare {runs.shown(out)}"
    if args.ladder:
        ladder = runs.shown(runs.REFERENCE / "ladder")
        return f"compare it with the reference: kvbench compare {ladder} {runs.shown(out)}"
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
        raise KvbenchError(f"kvbench bench does not take {' '.join(argv)!r}") from None
    return estimate_s(bench_plan(args))


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
