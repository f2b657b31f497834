"""`kvbench hostile`: slow and oversized clients against each served configuration.

Every probe of kvbench/measure/hostile.py on a fresh server of each configuration; the
table the docs show (docs/09) is printed, and with `--out` the summary is kept there.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from kvbench.measure.hostile import BIG_CLIENTS, CONFIGURATIONS, measure
from kvbench.report.hostile import table
from kvbench.results import provenance, runs


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--services", default=",".join(CONFIGURATIONS), help="comma-separated")
    add("--connections", type=int, default=3000, help="held per probe")
    add("--wait", type=float, default=12.0, help="seconds before counting")
    add("--big-mb", type=int, default=256, help="size of each of 4 PUTs")
    add("--out", type=Path, help="write summary.json into this folder too")


def run(args: argparse.Namespace) -> int:
    settings = {"connections": args.connections, "wait_s": args.wait, "big_mb": args.big_mb}
    summary: dict = {"settings": {**settings, "big_clients": BIG_CLIENTS}, "configurations": []}
    summary["provenance"] = provenance.collect().to_json()  # which code the probes met
    with tempfile.TemporaryDirectory() as tmp:  # the servers' logs, out of the table's way
        for name in args.services.split(","):
            found = measure(name, args.connections, args.wait, args.big_mb << 20, Path(tmp) / "log")
            summary["configurations"].append(found)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(table(summary), flush=True)
    if args.out:  # on stderr: stdout is the table alone
        print(f"wrote {runs.shown(args.out / 'summary.json')}", file=sys.stderr)
    return 0
