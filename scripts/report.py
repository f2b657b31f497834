#!/usr/bin/env python3
"""Write REPORT.md and its plots for a results folder; see `scripts/report.py --help`."""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from kvbench import KvbenchError  # noqa: E402
from kvbench.report import configure, run  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/report.py", description=__doc__)
    configure(parser)
    try:
        return run(parser.parse_args())
    except KvbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
