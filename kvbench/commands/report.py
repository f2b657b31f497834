"""`kvbench report [DIR]`: write DIR/REPORT.md and its plots from the run's summary.json."""

import argparse
from pathlib import Path

from kvbench.report.bench import write_report


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="?", default="bench-results", help="a results folder")
    parser.add_argument("--out", help="write REPORT.md and plots/ here (default: the folder)")


def run(args: argparse.Namespace) -> int:
    path = write_report(Path(args.results), Path(args.out) if args.out else None)
    print(f"wrote {path}")
    return 0
