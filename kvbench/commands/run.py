"""`kvbench run NAME`: one experiment of the catalogue into its part of a run folder.

The one way every experiment starts (`make bench-NAME` calls it): the steps declared in
kvbench/catalog/experiments.py, the first given the options the experiment takes and the words
of `--with`. `--dry-run` prints the steps and the estimate and measures nothing.
"""

import argparse
import importlib
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from kvbench import PROJECT_ROOT, KvbenchError, UsageError, cli
from kvbench.catalog.experiments import BY_NAME, RUN_OPTIONS, Experiment
from kvbench.measure.progress import minutes
from kvbench.processes import child_env
from kvbench.results import runs

# A step that is no `kvbench` command: a module run by this Python, the checkout importable.
CHILD = "python"


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("name", choices=list(BY_NAME), metavar="NAME", help=f"one of {', '.join(BY_NAME)}")
    add_run_options(parser)
    add("--dry-run", action="store_true", help="print the steps and the estimate; run nothing")
    add("--with", dest="extra", default="", metavar="'WORDS'",
        help="more options for the first step, as one word: --with='--pythons 3.11'")  # fmt: skip


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """`--run` and the options an experiment may take (RUN_OPTIONS), none by default."""
    parser.add_argument("--run", metavar="RUN", help="the run folder: new, latest or a name "
                        "(default: new for main, latest for a part)")  # fmt: skip
    for option in RUN_OPTIONS:
        parser.add_argument(
            f"--{option}", metavar="X", help="passed on where the experiment takes it"
        )


@dataclass(frozen=True)
class Step:
    """One command line of an experiment, and the seconds it should take (None: unknown)."""

    argv: tuple[str, ...]
    estimate_s: float | None

    @property
    def shown(self) -> str:
        if self.argv[0] == CHILD:
            return " ".join(self.argv)
        return " ".join(("kvbench", *self.argv))


def given(args: argparse.Namespace) -> dict[str, str]:
    """The run options given on the command line, by name."""
    values = {option: getattr(args, option.replace("-", "_")) for option in RUN_OPTIONS}
    return {option: value for option, value in values.items() if value is not None}


def steps(item: Experiment, run: str | None, options: dict[str, str], extra=(),
          folder: Path | None = None) -> list[Step]:  # fmt: skip
    """The experiment's command lines: `--run`, its options and `extra` on the first.

    `{part}` becomes the part's folder in `folder`, the run folder (`<run>` when None).
    """
    unknown = set(options) - set(item.takes)
    if unknown:
        raise UsageError(f"{item.name} does not take --{', --'.join(sorted(unknown))}")
    part = f"{folder if folder else '<run>'}/{item.folder}"
    found = []
    for index, step in enumerate(item.steps):
        argv = [word.replace("{part}", part) for word in step]
        if argv == list(step) and run:  # a step that names no folder finds the run itself
            argv += ["--run", run]
        if index == 0:
            argv += [w for o, v in options.items() for w in (f"--{o}", v)] + list(extra)
        found.append(Step(tuple(argv), step_estimate(argv, item)))
    return found


def needs_folder(item: Experiment) -> bool:
    """Whether a step names the part's folder itself (a module run as a child)."""
    return any("{part}" in word for step in item.steps for word in step)


def step_estimate(argv: list[str], item: Experiment) -> float | None:
    """The command's own estimate when it makes one, else the experiment's rough one."""
    if argv[0] == CHILD:
        return item.about_s or None
    command = importlib.import_module(f"kvbench.commands.{argv[0]}")
    if not hasattr(command, "estimate"):
        return item.about_s or None
    try:
        return command.estimate(argv[1:])
    except KvbenchError:  # e.g. wrk missing: the run itself would say so
        return None


def total_s(found: list[Step]) -> float:
    return sum(step.estimate_s or 0 for step in found)


def execute(step: Step) -> None:
    """Run one step here (a kvbench command) or as a child (a module); fail on its failure."""
    if step.argv[0] == CHILD:
        if "-o" in step.argv:  # pyperf's output: its folder made, a re-run's old file gone,
            out = Path(step.argv[step.argv.index("-o") + 1])  # since pyperf refuses to
            out.parent.mkdir(parents=True, exist_ok=True)  # write over one
            out.unlink(missing_ok=True)
        command = [sys.executable, *step.argv[1:]]
        status = subprocess.run(command, cwd=PROJECT_ROOT, env=child_env(), check=False).returncode
    else:
        status = cli.main(list(step.argv))
    if status:
        raise KvbenchError(f"`{step.shown}` failed (exit {status})")


def plan(item: Experiment, args: argparse.Namespace, extra=()) -> list[Step]:
    """The steps `args` asks for; the run folder is made only for a real run that needs it."""
    real = not args.dry_run and needs_folder(item)
    folder = runs.start(args.run or runs.LATEST) if real else None
    return steps(item, args.run, given(args), extra, folder)


def run(args: argparse.Namespace) -> int:
    item = BY_NAME[args.name]
    found = plan(item, args, shlex.split(args.extra))
    print(f"{item.name} ({item.title}): about {minutes(total_s(found))}", flush=True)
    for step in found:
        print(f"  {step.shown}", flush=True)
        if not args.dry_run:
            execute(step)
    return 0
