"""`kvbench promote [RUN]`: make a run of yours the committed reference (for maintainers).

Copies each part the run holds (its main files, ladder/, peers/, profiles/) into
bench-results/, replacing that part, and regenerates the reports from the copies.
`make promote` then runs `kvbench docs`, so the pages quote the new reference.
"""

import argparse
import json
from pathlib import Path

from kvbench.results import runs


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", nargs="?", default=runs.LATEST, metavar="RUN",
                        help="latest (the default), a run's name, or a folder")  # fmt: skip
    parser.add_argument("--reference", type=Path, default=runs.REFERENCE,
                        help="the committed reference (default bench-results/)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    folder = runs.find(args.run, args.reference)
    copied = runs.promote(folder, args.reference)
    print(f"promoted {runs.shown(folder)} into {runs.shown(args.reference)}/: {', '.join(copied)}")
    for report in reports(args.reference, copied):
        print(f"wrote {runs.shown(report)}")
    print("then: kvbench docs (make promote runs it); commit the results and the pages together")
    return 0


def reports(reference: Path, copied: list[str]) -> list[Path]:
    """Regenerate the reports of what was copied (matplotlib is imported only here)."""
    from kvbench.report import bench, cpu_curve, peers, pythons, sizing
    from kvbench.results.resultset import read_results
    from kvbench.soak import report as soak_report

    written = [bench.write_report(reference)] if "main" in copied else []
    if "peers" in copied:
        summary = json.loads((reference / "peers" / "summary.json").read_text(encoding="utf-8"))
        written.append(peers.write_report(reference / "peers", summary))
    if "stores" in copied:
        written.append(
            sizing.write_report(reference / "stores", read_results(reference / "stores"))
        )
    if "soak" in copied:  # its REPORT.md and plot, from its summary.json and series.csv
        written.append(soak_report.rewrite(reference / "soak"))
    for part, write in (("pythons", pythons.write_report),):
        if part in copied:
            found = json.loads((reference / part / "summary.json").read_text(encoding="utf-8"))
            written.append(write(reference / part, found))
    written += cpu_curve.write(reference)  # every part's points: redrawn on any promotion
    return written
