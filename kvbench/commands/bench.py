"""`kvbench bench`: micro, in-process ASGI, instructions and HTTP layers, into one results folder.

The HTTP layer pins each server to one CPU and this process, the load generator, to
another; services run back to back in each round, in ABBA order; every answer is checked
byte for byte. Rounds whose load generator had under 2x headroom, and closed-loop windows
whose server was not saturated, are warnings; `--strict` makes them a failed run. Results
go to a run folder of yours (`kvbench.results.runs`), never into the committed reference.
"""

import argparse
import hashlib
import sys
from pathlib import Path

from kvbench import KvbenchError, redis_server
from kvbench.load.requests import load_requests
from kvbench.measure.benchargs import bench_plan, configure, estimate
from kvbench.measure.layers import BenchPlan, Layers, estimate_s
from kvbench.measure.progress import Progress, minutes
from kvbench.results import files, runs
from kvbench.services import MEMORY, bare_variants, parse_app, same_in_process

__all__ = ["configure", "estimate", "run"]


def run(args: argparse.Namespace) -> int:
    bench = bench_plan(args)
    with Progress(estimate_s(bench)) as progress:
        return measured(args, bench, progress)


def measured(args: argparse.Namespace, bench: BenchPlan, progress: Progress) -> int:
    out = output(args)
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
    """Say every failed and undecided check; under --strict, a failed one fails the run (after
    it is saved)."""
    for warning in checks.get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    for name in checks.get("undecided", []):  # neither passed nor failed: --strict lets it be
        reading = checks[name].get("reading", "")
        print(f"undecided: {name} (neither passed nor failed): {reading}", file=sys.stderr)
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
