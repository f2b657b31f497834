"""`kvbench remeasure`: every committed experiment re-run into one new run, then promoted.

The experiments are the catalogue's (kvbench/catalog/experiments.py), in its order, each
started as `kvbench run NAME` starts it. The plan and its estimate are said first; a
failed experiment stops the run and says how to resume it (`--run NAME --from EXPERIMENT`).
At the end the run becomes the reference (`kvbench promote`) and the docs follow
(`kvbench docs`): what `make promote` does.
"""

import argparse

from kvbench import KvbenchError, UsageError, cli
from kvbench.catalog.experiments import BY_NAME, EXPERIMENTS
from kvbench.commands.run import Step, execute, steps, total_s
from kvbench.measure.progress import Progress, minutes
from kvbench.results import runs


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--dry-run", action="store_true", help="print the plan and its estimate; run nothing")
    add("--run", metavar="RUN", help="the run folder (default: a new one); with --from, the "
        "run a stopped remeasure was writing")  # fmt: skip
    add("--from", dest="start", choices=list(BY_NAME), metavar="NAME",
        help="start at this experiment (resume a stopped remeasure)")  # fmt: skip
    add("--only", type=names, metavar="A,B", help="only these experiments, in the catalogue's "
        "order (the parts not named keep their committed results)")  # fmt: skip


def names(text: str) -> list[str]:
    """--only's list, every name checked against the catalogue."""
    found = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in found if name not in BY_NAME]
    if unknown or not found:
        raise argparse.ArgumentTypeError(
            f"unknown experiment {', '.join(unknown) or '(none named)'}: choose from "
            f"{', '.join(BY_NAME)}"
        )
    return found


def plan(
    run: str | None, start: str | None, folder=None, only: list[str] | None = None
) -> list[tuple[str, list[Step]]]:
    """Each experiment from `start` on (of `only`, if given), with its command lines into
    the run `run`."""
    order = [item.name for item in EXPERIMENTS]
    after = EXPERIMENTS[order.index(start) :] if start else EXPERIMENTS
    chosen = [item for item in after if only is None or item.name in only]
    return [(item.name, steps(item, run, {}, (), folder)) for item in chosen]


def said(found: list[tuple[str, list[Step]]]) -> list[str]:
    """The plan as lines: each experiment, its estimate and its command lines."""
    lines = []
    for name, commands in found:
        lines.append(f"{name}: about {minutes(total_s(commands))}")
        lines += [f"    {step.shown}" for step in commands]
    return lines


def run(args: argparse.Namespace) -> int:
    if args.start and not args.run:
        raise UsageError("--from resumes a run: name it with --run")
    folder = None if args.dry_run else runs.start(args.run or runs.NEW)
    name = folder.name if folder else (args.run or "<run>")
    found = plan(name, args.start, folder, args.only)
    total = sum(total_s(commands) for _, commands in found)
    where = runs.shown(folder) if folder else f"bench-results/runs/{name}"
    print(f"remeasure: {len(found)} experiments into {where}/, then promoted: about "
          f"{minutes(total)} in all", flush=True)  # fmt: skip
    for line in said(found):
        print(line, flush=True)
    if folder is None:
        return 0
    with Progress(total) as progress:
        for index, (experiment, commands) in enumerate(found, 1):
            progress.step(f"experiment {index}/{len(found)}: {experiment}")
            try:
                for step in commands:
                    execute(step)
            except KvbenchError as exc:
                only = f" --only {','.join(args.only)}" if args.only else ""
                resume = f"kvbench remeasure --run {name} --from {experiment}{only}"
                raise KvbenchError(f"{experiment}: {exc}; fix it, then resume: {resume}") from None
    for command in (["promote", name], ["docs"]):
        if cli.main(command):
            raise KvbenchError(f"`kvbench {' '.join(command)}` failed")
    return 0
