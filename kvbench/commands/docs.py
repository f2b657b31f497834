"""`kvbench docs [--check]`: regenerate, or check, every generated block and value of the docs."""

import argparse
import sys
from pathlib import Path

from kvbench.docgen.generate import check, write
from kvbench.docgen.sources import Sources
from kvbench.processes import PROJECT_ROOT
from kvbench.results.provenance import committed_problems


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="change nothing; fail on any drift")
    parser.add_argument("--results", type=Path, help="results folder (default bench-results/)")
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)  # the repository, for tests


def run(args: argparse.Namespace) -> int:
    root = args.root or PROJECT_ROOT
    sources = Sources(args.results or root / "bench-results", root)
    sources.require()
    problems = check(sources) if args.check else write(sources)
    if args.check:  # the committed results must describe the committed code
        problems += committed_problems(sources.results, root)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        verb = "out of date or broken" if args.check else "could not be generated"
        print(f"{len(problems)} problem(s): docs {verb}", file=sys.stderr)
    return 1 if problems else 0
