"""`kvbench pythons`: both services and the framework floor under every installed CPython.

One run: each interpreter's venv from its own lock, then the in-process layers under each
(instructions and allocations per request, exact; in-process time), then ONE interleaved
HTTP campaign of every service under every interpreter (`optimized@3.12`, ...), each paired
with the same service under the first interpreter. Into the run folder's `pythons/`.
"""

import argparse
import dataclasses
from pathlib import Path

from kvbench import KvbenchError
from kvbench.commands.bench import verdict
from kvbench.measure import instructions
from kvbench.measure import pythons as found
from kvbench.measure.campaign import Campaign, run_campaign
from kvbench.measure.layers import BenchPlan, estimate_s
from kvbench.measure.pinning import SERVER_CPU, server_cpus
from kvbench.measure.progress import Progress, minutes
from kvbench.measure.trials import TrialPlan
from kvbench.report import pythons as report
from kvbench.results import files, provenance, runs
from kvbench.results.summary import summaries
from kvbench.services import in_process_services

# About 15 minutes on a 2-core machine for three Pythons: 9 services x 6 trials of ~8 s,
# and ~2.5 min of in-process counts per interpreter.
TRIALS, DURATION_S, WARMUP_S, LATENCY_S = 6, 3.0, 1.0, 2.0
IN_PROCESS_S = 60  # priming, allocations and pyperf's quick ASGI suite, per interpreter


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--pythons", default=" ".join(found.VERSIONS), help="minor versions, e.g. '3.11 3.13'")
    add("--run", metavar="RUN", help="the run folder that gets pythons/ (default latest)")
    add("--out", type=Path, help="write here instead of the run folder's pythons/")
    add("--trials", type=int, default=TRIALS, help=f"HTTP trials per service ({TRIALS})")
    add("--duration", type=float, default=DURATION_S, help="closed-loop seconds per trial")
    add("--warmup", type=float, default=WARMUP_S, help="unrecorded seconds before each window")
    add("--latency-window", type=float, default=LATENCY_S, help="open-loop seconds per trial")
    add("--concurrency", type=int, default=64, help="connections (default 64)")
    add("--quick", action="store_true", help="a smoke run: one small instruction count each")
    add("--layers", default="inprocess,http", help="inprocess (counts, time), http, or both")
    add("--strict", action="store_true", help="exit 1 when a headroom or saturation check fails")


def plan_from(args: argparse.Namespace) -> TrialPlan:
    plan = TrialPlan(connections=args.concurrency, server_cpus=server_cpus())
    return dataclasses.replace(plan, warmup_s=args.warmup, duration_s=args.duration,
                               latency_s=args.latency_window)  # fmt: skip


def estimate(argv: list[str]) -> float:
    """Seconds `kvbench pythons ARGV` should take on the Pythons installed here."""
    parser = argparse.ArgumentParser(prog="kvbench pythons")
    configure(parser)
    args = parser.parse_args(argv)
    chosen = found.discover(args.pythons.replace(",", " ").split(), found.pyenv_root())
    return seconds(len(chosen), args)


def seconds(interpreters: int, args: argparse.Namespace) -> float:
    bases = found.bases()
    http = BenchPlan(bases * interpreters, frozenset({"http"}), plan_from(args), args.trials)
    pairs = len(in_process_services(bases)) * (1 if args.quick else found.REPEATS)
    per_interpreter = pairs * instructions.SECONDS_PER_REPEAT + IN_PROCESS_S
    return estimate_s(http) * ("http" in args.layers) + per_interpreter * interpreters * (
        "inprocess" in args.layers
    )


def run(args: argparse.Namespace) -> int:
    chosen = found.discover(args.pythons.replace(",", " ").split(), found.pyenv_root())
    if not chosen:
        raise KvbenchError("none of the Pythons asked for is installed")
    out = args.out or runs.start(args.run or runs.LATEST) / "pythons"
    out.mkdir(parents=True, exist_ok=True)
    with Progress(seconds(len(chosen), args)) as progress:
        return measured(chosen, args, out, progress)


def measured(chosen: list, args: argparse.Namespace, out: Path, progress: Progress) -> int:
    names = ", ".join(minor for minor, _ in chosen)
    progress.say(f"Pythons {names} into {runs.shown(out)}/: about {minutes(progress.total_s)}")
    interpreters = []
    for minor, path in chosen:
        progress.step(f"the venv of Python {minor} (make venv-other)")
        interpreters.append(found.make_venv(minor, path))
    summary = measure(interpreters, args, out, progress)
    files.write_json(out / "summary.json", summary)
    report.write_report(out, summary)
    progress.say(f"done in {progress.elapsed_s() / 60:.1f} min: {runs.shown(out)}/summary.json")
    return verdict(summary.get("checks") or {}, args.strict)


def measure(interpreters: list, args: argparse.Namespace, out: Path, progress) -> dict:
    samples: dict[str, dict[str, list[float]]] = {}
    described, counted = {}, {}
    for interpreter in interpreters:
        said = found.describe(interpreter.venv_python) or {}
        described[interpreter.minor] = found.shown(said, interpreter)
        if "inprocess" not in args.layers:
            continue
        progress.step(f"in-process layers under Python {interpreter.minor}")
        child = found.run_in_process(interpreter, out, SERVER_CPU, args.quick)
        counted[interpreter.minor] = child["instructions"]
        for base, values in child["samples"].items():
            samples[f"{base}@{interpreter.minor}"] = values
    summary = provenance.header()
    summary["environment"] |= {"pythons": described, "instructions": counted,
                               "base_python": interpreters[0].minor}  # fmt: skip
    if "http" not in args.layers:
        services_found = {name: summaries(values) for name, values in samples.items()}
        return summary | {"files": {}, "services": services_found}
    services = found.services(interpreters)
    campaign = Campaign(services, plan_from(args), args.trials, pairs=found.pairs(interpreters),
                        progress=progress.step)  # fmt: skip
    result = run_campaign(campaign)
    for service in services:
        samples.setdefault(service.name, {}).update(result.samples(service.name))
    summary["environment"] |= result.environment()
    summary["files"] = result.write(out)
    services_found = {name: summaries(values) for name, values in samples.items()}
    return summary | result.sections() | {"services": services_found}
