"""`kvbench export RUN --csv FILE`: a run's HTTP trials as one flat table, for pandas.

One row per service per HTTP trial: the run, the service, the trial's index, its round and
its place in the round's order, then every per-trial metric. The trials come from the
summary's `files.trials` (per-trial objects, when the run has them), else from
`services[S][metric].values`, one value per trial in trial order. In-process metrics
(pyperf values, counts) are not per trial and are left out.
"""

import argparse
import csv
import json
import sys
from pathlib import Path

from kvbench import KvbenchError, UsageError
from kvbench.results import runs

IN_PROCESS = ("micro_", "asgi_", "gc_survivors", "gc_cycles", "gc_collections_per_")
KEYS = ("run", "service", "trial", "round", "position")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="latest, a run's name, or a results folder")
    parser.add_argument("--csv", type=Path, required=True, metavar="FILE", help="write here")


def run(args: argparse.Namespace) -> int:
    if args.csv.suffix.lower() != ".csv":
        raise UsageError(f"--csv writes a .csv file, not {args.csv.name}")
    given = Path(args.run)
    folder = given.resolve() if given.is_dir() else runs.find(args.run)
    summary = read(folder / "summary.json")
    rows = table(folder.name, summary, folder)
    if not rows:
        raise KvbenchError(f"{runs.shown(folder)} has no HTTP trials to export")
    write(args.csv, rows)
    print(f"wrote {len(rows)} trials to {args.csv}", file=sys.stderr)
    return 0


def read(path: Path) -> dict:
    if not path.exists():
        raise KvbenchError(f"no summary.json in {path.parent}")
    return json.loads(path.read_text())


def table(name: str, summary: dict, folder: Path) -> list[dict]:
    rounds = summary.get("rounds") or []
    rows = []
    for service, metrics in summary.get("services", {}).items():
        for trial, values in enumerate(trials(service, metrics, summary, folder, len(rounds))):
            order = rounds[trial].get("order", []) if trial < len(rounds) else []
            place = order.index(service) if service in order else ""
            rows.append({"run": name, "service": service, "trial": trial,
                         "round": trial + 1 if trial < len(rounds) else "",
                         "position": place, **values})  # fmt: skip
    return rows


def trials(service: str, metrics: dict, summary: dict, folder: Path, count: int) -> list[dict]:
    """Per-trial metric values of one service: the trials file when present, else the summary."""
    path = (summary.get("files", {}).get("trials") or {}).get(service)
    if path and (folder / path).exists():
        found = json.loads((folder / path).read_text())
        return [dict(trial) for trial in found]
    per_trial = {
        metric: summary_["values"]
        for metric, summary_ in metrics.items()
        if not metric.startswith(IN_PROCESS) and len(summary_.get("values", [])) == count
    }
    return [{metric: values[i] for metric, values in per_trial.items()} for i in range(count)]


def write(path: Path, rows: list[dict]) -> None:
    columns = list(KEYS)
    for row in rows:
        columns += [key for key in row if key not in columns]
    with open(path, "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
