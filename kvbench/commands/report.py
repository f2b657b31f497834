"""`kvbench report [DIR]`: write DIR/REPORT.md and its plots from the run's summary.json."""

import argparse
from pathlib import Path

from kvbench.report.bench import write_report
from kvbench.results import runs


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="?", help="a results folder (default: your latest run)")
    parser.add_argument("--out", help="write REPORT.md and plots/ here (default: the folder)")


def run(args: argparse.Namespace) -> int:
    folder = Path(args.results) if args.results else runs.find(runs.LATEST)
    path = write_report(folder, Path(args.out) if args.out else None)
    print(f"wrote {runs.shown(path)}")
    return 0
